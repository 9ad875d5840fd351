/// Runs one command of a peer's connection on the endpoint's cache and writes memcached's reply:
/// the rules of the protocol (expiry times, add and replace, CAS compares, the login of
/// `memcached -Y`), pure, so they are tested without sockets against the same table of cases as
/// real memcached.
struct PeerCommandExecutor {
    /// The login the endpoint requires (`username password`, memcached's text-protocol
    /// authentication), or `nil` for none (loopback only).
    let credentials: (username: String, password: String)?
    /// What `version` answers (it names this process's instance: a peer that sees it change knows
    /// the endpoint came back empty).
    let version: String

    /// The time, for expiry: `nowMilliseconds` on the cache's monotonic clock, `unixSeconds` for
    /// memcached's absolute expiration times (above 30 days).
    struct Clock {
        var nowMilliseconds: Int64
        var unixSeconds: Int64
    }

    /// memcached's limit between relative and absolute expiration times.
    static let relativeLimit = 60 * 60 * 24 * 30

    /// The cache expiry for a protocol `exptime`: 0 never, up to 30 days relative seconds, above
    /// that a Unix time, negative already expired.
    static func expiry(_ exptime: Int, _ clock: Clock) -> Int64 {
        if exptime == 0 { return .max }
        if exptime < 0 { return clock.nowMilliseconds }
        if exptime <= relativeLimit { return clock.nowMilliseconds + Int64(exptime) * 1000 }
        return clock.nowMilliseconds + (Int64(exptime) - clock.unixSeconds) * 1000
    }

    /// Whether `a` and `b` are the same bytes, in a time that depends on their lengths only (a
    /// password is not found out byte by byte from the time a refusal takes).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The reply to `command`; `authenticated` is the connection's login state.
    func run(_ command: PeerCommand, on cache: inout PeerCache, authenticated: inout Bool, clock: Clock) -> [UInt8] {
        if credentials != nil && !authenticated {
            guard case .store(.set, _, _, let value) = command else {
                if case .malformed(let message) = command { return line("CLIENT_ERROR \(message)") }
                return line("CLIENT_ERROR unauthenticated")
            }
            let given = String(decoding: value, as: UTF8.self).split(separator: " ", maxSplits: 1).map(String.init)
            // Both compared, whichever is wrong.
            let matches = credentials.map { [Self.sameBytes(given.first ?? "", $0.username), Self.sameBytes(given.last ?? "", $0.password)] }
            guard given.count == 2, matches == [true, true] else {
                return line("CLIENT_ERROR authentication failure")
            }
            authenticated = true
            return line("STORED")
        }
        let now = clock.nowMilliseconds
        Self.count(command, in: &cache.commandCounts)
        switch command {
        case .get(let key, let touch):
            guard let item = cache.get(key, now: now) else { return line("END") }
            if let touch { item.expiry = Self.expiry(touch, clock) }
            return Array("VALUE \(key) 0 \(item.value.count)\r\n".utf8) + item.value + Array("\r\nEND\r\n".utf8)
        case .store(let verb, let key, let exptime, let value):
            if verb == .add, cache.get(key, now: now) != nil { return line("NOT_STORED") }
            guard cache.set(key, value: value, expiry: Self.expiry(exptime, clock), now: now) != nil else {
                return line("SERVER_ERROR object too large for cache")
            }
            return line("STORED")
        case .delete(let key):
            return line(cache.delete(key, now: now) ? "DELETED" : "NOT_FOUND")
        case .touch(let key, let exptime):
            return line(cache.touch(key, expiry: Self.expiry(exptime, clock), now: now) ? "TOUCHED" : "NOT_FOUND")
        case .version:
            return line("VERSION \(version)")
        case .stats:
            let counts = cache.commandCounts
            return Array(
                ("STAT curr_items \(cache.count)\r\nSTAT bytes \(cache.usedBytes)\r\nSTAT limit_maxbytes \(cache.limitBytes)\r\nSTAT evictions \(cache.evictions)\r\n"
                    + "STAT cmd_get \(counts.gets)\r\nSTAT cmd_set \(counts.sets)\r\nSTAT cmd_touch \(counts.touches)\r\nSTAT delete_hits \(counts.deletes)\r\nEND\r\n").utf8
            )
        case .metaSet(let key, let value, let flags):
            return metaSet(key, value, flags, &cache, clock)
        case .metaGet(let key, let flags):
            guard let item = cache.get(key, now: now) else { return line("EN") }
            var returned: [String] = []
            if flags.contains("c") { returned.append("c\(item.cas)") }
            if flags.contains("t") { returned.append("t\(item.expiry == .max ? -1 : max(0, (item.expiry - now + 999) / 1000))") }
            let suffix = returned.isEmpty ? "" : " " + returned.joined(separator: " ")
            guard flags.contains("v") else { return line("HD" + suffix) }
            return Array("VA \(item.value.count)\(suffix)\r\n".utf8) + item.value + Array("\r\n".utf8)
        case .metaDelete(let key, let flags):
            guard let item = cache.get(key, now: now) else { return line("NF") }
            if let compare = Self.number(flags, "C"), compare != item.cas { return line("EX") }
            _ = cache.delete(key, now: now)
            return line("HD")
        case .unknown:
            return line("ERROR")
        case .malformed(let message):
            return line("CLIENT_ERROR \(message)")
        }
    }

    /// Counts `command` for `stats` (a benchmark reads the commands per request there, as from
    /// memcached).
    static func count(_ command: PeerCommand, in counts: inout PeerCache.CommandCounts) {
        switch command {
        case .get(_, let touch): if touch == nil { counts.gets += 1 } else { counts.touches += 1 }
        case .metaGet: counts.gets += 1
        case .store, .metaSet: counts.sets += 1
        case .touch: counts.touches += 1
        case .delete, .metaDelete: counts.deletes += 1
        case .version, .stats, .unknown, .malformed: break
        }
    }

    /// `ms`: mode `S` (set, the default), `E` (add), `R` (replace); `C<cas>` compares; `T` the
    /// expiry; `c` returns the new CAS value (and `c0` with a refusal, as memcached 1.6 does).
    private func metaSet(_ key: String, _ value: [UInt8], _ flags: [String], _ cache: inout PeerCache, _ clock: Clock) -> [UInt8] {
        let now = clock.nowMilliseconds
        let existing = cache.get(key, now: now)
        let mode = flags.first { $0.hasPrefix("M") }.map { String($0.dropFirst()) } ?? "S"
        let refused = flags.contains("c") ? " c0" : ""
        if let compare = Self.number(flags, "C") {
            guard let existing else { return line("NF" + refused) }
            guard existing.cas == compare else { return line("EX" + refused) }
        }
        switch mode {
        case "E" where existing != nil, "R" where existing == nil: return line("NS" + refused)
        case "S", "E", "R": break
        default: return line("CLIENT_ERROR invalid mode for ms")
        }
        let exptime = Self.number(flags, "T").map(Int.init) ?? 0
        guard let cas = cache.set(key, value: value, expiry: Self.expiry(exptime, clock), now: now) else {
            return line("SERVER_ERROR object too large for cache")
        }
        return line(flags.contains("c") ? "HD c\(cas)" : "HD")
    }

    /// The number of flag `letter` (`C12` → 12).
    private static func number(_ flags: [String], _ letter: Character) -> UInt64? {
        flags.first { $0.first == letter }.flatMap { UInt64($0.dropFirst()) }
    }

    private func line(_ text: String) -> [UInt8] { Array((text + "\r\n").utf8) }
}
