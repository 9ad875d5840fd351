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

    /// The index of a principal's sessions (see ``PrincipalIndex``): named by the first 128 bits
    /// of SHA-256 of the principal, so that any string is a safe principal and the key stays far
    /// under memcached's 250 bytes; the hash is its Redis Cluster hash tag (its own slot).
    func principalIndex(_ principal: String) -> String {
        let digest = SHA256.digest(Array(principal.utf8)).prefix(16)
        return prefix + "principal:{" + digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "}"
    }

    /// The tombstone of a session invalidated by principal (``SessionManager/invalidateSessions(of:except:)``):
    /// named by its random part alone (a relocation or a takeover changes the rest of the id), with
    /// the session's keys' hash tag. A write of a logged-in session that finds its copy gone looks
    /// for it before writing the copy again: present, the session was invalidated, not lost.
    func tombstone(_ random: String) -> String { prefix + "gone:{" + random + "}" }

    /// The channel on which invalidations by principal are announced (stores with publish and
    /// subscribe): every node drops its resident copy of the session named.
    var invalidationChannel: String { prefix + "invalidated" }

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
