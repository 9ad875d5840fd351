import Foundation

/// The index of one principal's sessions: one member per session, keyed by the session id's
/// random part (a relocation or a takeover changes the node and route parts only, and updates
/// the member's id in place), with the id it was last known by, its login time and when its
/// session's store copy expires at the latest. Bounded: members whose session has expired
/// are pruned by every operation, and a login beyond ``ManagerConfiguration`` 's per-principal
/// limit evicts the oldest logins or is refused.
///
/// A value with pure operations: the memory store keeps it in process, memcached stores its
/// ``encoded`` bytes under one key, changed by compare-and-set on every store kind (read, change,
/// write back only if unchanged: see ``SessionStorage/updateIndex(_:_:)``), so the rules live
/// here once. Times are Unix milliseconds.
struct PrincipalIndex: Sendable, Equatable {
    struct Member: Sendable, Equatable {
        /// The session's id as last known (node and route parts included): where its copy is.
        /// Kept as text, parsed when used (a login reads every member, and uses none of them).
        var idText: String
        /// ``idText`` as an id; `nil` for a member no id parses (never written by this code).
        var id: SessionID? { SessionID(parsing: idText) }
        /// When the session logged in.
        var loginTime: Int64
        /// When the session's store copy expires at the latest (members past it are pruned): a
        /// quarter of the timeout later than the last refresh's expiry, since requests refresh
        /// the member at most once per quarter of the timeout.
        var expiresAt: Int64
    }

    typealias LimitPolicy = PrincipalLimitPolicy

    /// What ``logIn(_:loginTime:expiresAt:now:limit:policy:)`` decided.
    enum LoginOutcome: Sendable, Equatable {
        /// Logged in; these members were evicted to stay within the limit: their sessions must
        /// be invalidated everywhere.
        case loggedIn(evicted: [SessionID])
        /// The principal already has `limit` sessions and the policy is ``LimitPolicy/reject``.
        case refused
    }

    private(set) var members: [String: Member] = [:]

    /// Drops the members whose session has expired by `now`.
    mutating func prune(now: Int64) {
        members = members.filter { $0.value.expiresAt > now }
    }

    /// Adds (or renews) the member of session `id`, within `limit` members (`nil`: unlimited).
    mutating func logIn(_ id: SessionID, loginTime: Int64, expiresAt: Int64, now: Int64, limit: Int?, policy: LimitPolicy) -> LoginOutcome {
        prune(now: now)
        let random = id.random
        var evicted: [SessionID] = []
        if let limit, members[random] == nil, members.count >= limit {
            guard policy == .invalidateOldest else { return .refused }
            // Oldest logins first; equal times by random part, so every node evicts the same ones.
            let byAge = members.sorted { ($0.value.loginTime, $0.key) < ($1.value.loginTime, $1.key) }
            let oldest = byAge.prefix(members.count - limit + 1)
            evicted = oldest.compactMap(\.value.id)
            for (key, _) in oldest { members[key] = nil }
        }
        members[random] = Member(idText: id.description, loginTime: loginTime, expiresAt: expiresAt)
        return .loggedIn(evicted: evicted)
    }

    /// A request of the session renewed its store copy (and knows its id as it is now: a
    /// relocation or a takeover changed it in place).
    mutating func refresh(_ id: SessionID, expiresAt: Int64, now: Int64) {
        prune(now: now)
        guard var member = members[id.random] else { return }
        member.idText = id.description
        member.expiresAt = max(expiresAt, member.expiresAt)
        members[id.random] = member
    }

    /// The session's id changed (`changeSessionId()`): its member follows it. `false` when it
    /// has no member (pruned, or evicted meanwhile).
    @discardableResult
    mutating func rename(_ old: String, to new: SessionID, now: Int64) -> Bool {
        prune(now: now)
        guard var member = members.removeValue(forKey: old) else { return false }
        member.idText = new.description
        members[new.random] = member
        return true
    }

    /// The session logged out or was invalidated.
    mutating func remove(_ random: String, now: Int64) {
        prune(now: now)
        members[random] = nil
    }

    /// How long the index's own key must live from `now`: until its last member's session
    /// expires; `nil` when it has none (delete the key).
    func keyTTL(now: Int64) -> Int64? {
        members.values.map(\.expiresAt).max().map { max(1, $0 - now) }
    }

    /// One line per member, `id loginTime expiresAt`, in no particular order.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(members.count * 96)
        for member in members.values {
            bytes.append(contentsOf: member.idText.utf8)
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: String(member.loginTime).utf8)
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: String(member.expiresAt).utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// Reads ``encoded``; `nil` for bytes that are not an index (a corrupt key is dropped, as a
    /// corrupt session is: the next login writes a new one). On the bytes, without splitting
    /// into strings: an index is read by every login and refresh of its principal.
    init?(encoded bytes: [UInt8]) {
        let parsed = bytes.withUnsafeBufferPointer { buffer -> [String: Member]? in
            var members: [String: Member] = [:]
            var start = 0
            while start < buffer.count {
                var spaces: [Int] = []
                var end = start
                while end < buffer.count, buffer[end] != UInt8(ascii: "\n") {
                    if buffer[end] == UInt8(ascii: " ") { spaces.append(end) }
                    end += 1
                }
                guard end < buffer.count, spaces.count == 2,
                      spaces[0] - start >= SessionID.randomLength, spaces[0] - start <= SessionID.maximumLength,
                      SessionID.isRandomPart(UnsafeBufferPointer(rebasing: buffer[start..<(start + SessionID.randomLength)])),
                      let login = Self.decimal(buffer, spaces[0] + 1, spaces[1]),
                      let expires = Self.decimal(buffer, spaces[1] + 1, end)
                else { return nil }
                let id = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<spaces[0]]), as: UTF8.self)
                let random = String(id.utf8.prefix(SessionID.randomLength))!
                guard members[random] == nil else { return nil }
                members[random] = Member(idText: id, loginTime: login, expiresAt: expires)
                start = end + 1
            }
            return members
        }
        guard let parsed else { return nil }
        members = parsed
    }

    /// The non-negative decimal in `buffer[start..<end]` (at most 18 digits).
    private static func decimal(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        guard end > start, end - start <= 18 else { return nil }
        var value: Int64 = 0
        for index in start..<end {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }

    init() {}
}

extension PrincipalIndex {
    /// Adds `other`'s members (the index's two copies, read while one may have missed a change):
    /// of a member in both, the later expiry and its id.
    mutating func merge(_ other: PrincipalIndex) {
        for (random, member) in other.members {
            if let mine = members[random], mine.expiresAt >= member.expiresAt { continue }
            members[random] = member
        }
    }
}
