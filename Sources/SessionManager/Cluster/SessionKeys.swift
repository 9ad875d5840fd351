/// Every store key a context uses, built here and nowhere else: a session's primary copy, its
/// backup (`bak:`) and its lock (`lock:`), the route lease of sticky mode, and the probe of a down
/// node. All start with the context's `storageKeyPrefix`, so contexts sharing a store never
/// collide; a session's keys carry its random part as a Redis hash tag (see
/// ``SessionID/storeKey(prefix:)``), so they share one Redis Cluster slot.
struct SessionKeys: Sendable {
    /// The context's `storageKeyPrefix`.
    let prefix: String

    /// The key of a session's primary copy.
    @inline(__always)
    func primary(_ id: SessionID) -> String { id.storeKey(prefix: prefix) }

    /// The key of the backup copy of the session whose primary key is `primaryKey`.
    static func backup(ofPrimary primaryKey: String) -> String { "bak:" + primaryKey }

    /// The key of the lock of the session whose primary key is `primaryKey`.
    static func lock(ofPrimary primaryKey: String) -> String { "lock:" + primaryKey }

    /// The key of the lease on an app node's route (sticky mode, see ``RouteLease``); the route
    /// is its hash tag.
    func routeLease(_ route: String) -> String { prefix + "route:{" + route + "}" }

    /// A key no session has, read to ask a down node whether it answers again.
    func probe(node: String?) -> String { prefix + "ping-" + (node ?? "") }
}

extension SessionID {
    /// The store key of this session's primary copy under a context's `prefix`:
    /// `<prefix>{<random>}[-<nodeID>][.<jvmRoute>]`.
    ///
    /// The random part is a Redis hash tag: every key a session owns (this one, `bak:` + it for the
    /// backup, `lock:` + it for the lock) hashes to one Redis Cluster slot whatever its node part or
    /// route, so a lock script, a pipelined lock-and-read or a relocation never spans two slots
    /// (`CROSSSLOT`). Other stores see two more characters.
    public func storeKey(prefix: String) -> String {
        let utf8 = description.utf8
        let split = utf8.index(utf8.startIndex, offsetBy: Self.randomLength)
        var key = prefix
        key.reserveCapacity(prefix.utf8.count + utf8.count + 2)
        key += "{"
        key += description[..<split]
        key += "}"
        key += description[split...]
        return key
    }
}
