/// The session copies a peer endpoint keeps for the other app nodes: what memcached keeps for
/// the memcached store, in this process (issue 32).
///
/// Bounded by bytes: past ``limitBytes`` the least recently used items are evicted (counted:
/// an evicted copy is a lost backup). Expiry is honoured on every access (an expired item is
/// absent) and expired items are the first to go. Every stored item gets a new CAS value, for the
/// meta commands of the locks and the principal index. Pure: the caller passes the time, in
/// milliseconds on any monotonic clock, and serialises access.
struct PeerCache {
    /// One item; its links in the recency list (oldest first).
    final class Item {
        let key: String
        var value: [UInt8]
        /// When it expires (the caller's milliseconds).
        var expiry: Int64
        var cas: UInt64
        var older: Item?
        var newer: Item?

        init(key: String, value: [UInt8], expiry: Int64, cas: UInt64) {
            self.key = key
            self.value = value
            self.expiry = expiry
            self.cas = cas
        }

        /// What the item counts against the limit: its key, its value and a fixed overhead for
        /// the dictionary entry, the object and its links (measured: see the RSS test).
        var cost: Int { key.utf8.count + value.count + PeerCache.itemOverhead }
    }

    /// Bytes counted per item beyond its key and value.
    static let itemOverhead = 96

    /// The most bytes the items may count.
    let limitBytes: Int
    private(set) var usedBytes = 0
    /// Items evicted to stay within the limit (not those that expired).
    private(set) var evictions = 0
    /// The commands served, as memcached's `stats` names them (`cmd_get`, `cmd_set`,
    /// `cmd_touch`, `delete_hits` + `delete_misses` as `deletes`): one per command.
    var commandCounts = CommandCounts()

    /// Commands served, by kind.
    struct CommandCounts {
        var gets = 0
        var sets = 0
        var touches = 0
        var deletes = 0
    }
    private var items: [String: Item] = [:]
    private var oldest: Item?
    private var newest: Item?
    private var nextCAS: UInt64 = 1

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// Number of items held (expired ones not yet dropped included).
    var count: Int { items.count }

    /// The live item for `key`, now the most recently used; `nil` when absent or expired.
    mutating func get(_ key: String, now: Int64) -> Item? {
        guard let item = items[key] else { return nil }
        guard item.expiry > now else {
            remove(item)
            return nil
        }
        moveToNewest(item)
        return item
    }

    /// Resets a live item's expiry; `false` when it is absent.
    mutating func touch(_ key: String, expiry: Int64, now: Int64) -> Bool {
        guard let item = get(key, now: now) else { return false }
        item.expiry = expiry
        return true
    }

    /// Stores `value` under `key` (replacing any item) with a new CAS value, which it returns;
    /// `nil` when the item alone is larger than the limit (memcached's "too large").
    @discardableResult
    mutating func set(_ key: String, value: [UInt8], expiry: Int64, now: Int64) -> UInt64? {
        let cost = key.utf8.count + value.count + Self.itemOverhead
        guard cost <= limitBytes else { return nil }
        if let existing = items[key] { remove(existing) }
        let item = Item(key: key, value: value, expiry: expiry, cas: nextCAS)
        nextCAS &+= 1
        items[key] = item
        usedBytes += item.cost
        append(item)
        makeRoom(now: now)
        return item.cas
    }

    /// Removes `key`; `false` when it was absent (or expired).
    mutating func delete(_ key: String, now: Int64) -> Bool {
        guard let item = get(key, now: now) else { return false }
        remove(item)
        return true
    }

    /// How many of the least recently used items are looked at for an expired one before a live
    /// one is evicted (memcached looks at a few items of its LRU's tail too): a bounded search,
    /// so a set into a full cache costs the same whatever its size.
    static let expiredSearch = 5

    /// Evicts until the items fit: expired ones among the least recently used first, then the
    /// least recently used.
    private mutating func makeRoom(now: Int64) {
        guard usedBytes > limitBytes else { return }
        var candidate = oldest
        var looked = 0
        while usedBytes > limitBytes, looked < Self.expiredSearch, let item = candidate {
            candidate = item.newer
            looked += 1
            if item.expiry <= now { remove(item) }
        }
        while usedBytes > limitBytes, let item = oldest {
            remove(item)
            evictions += 1
        }
    }

    private mutating func remove(_ item: Item) {
        items[item.key] = nil
        usedBytes -= item.cost
        unlink(item)
    }

    private mutating func append(_ item: Item) {
        item.older = newest
        item.newer = nil
        newest?.newer = item
        newest = item
        if oldest == nil { oldest = item }
    }

    private mutating func unlink(_ item: Item) {
        if let older = item.older { older.newer = item.newer } else { oldest = item.newer }
        if let newer = item.newer { newer.older = item.older } else { newest = item.older }
        item.older = nil
        item.newer = nil
    }

    private mutating func moveToNewest(_ item: Item) {
        guard newest !== item else { return }
        unlink(item)
        append(item)
    }
}
