import Foundation

/// The index of one principal's sessions: one member per session, keyed by the session id's
/// random part (a relocation or a takeover changes the node and route parts only, and updates
/// the member's id in place), with the id it was last known by, its login time and when its
/// session's store copy expires at the latest. Bounded: members whose session has expired
/// are pruned by every operation, and a login beyond ``ManagerConfiguration`` 's per-principal
/// limit evicts the oldest logins or is refused.
///
/// A value with pure operations: the memory store keeps it in process, memcached stores its
/// ``encoded`` bytes under a CAS-checked key (read, change, write back only if unchanged), and the
/// Redis store runs the same rules in one script. Times are Unix milliseconds.
struct PrincipalIndex: Sendable, Equatable {
    struct Member: Sendable, Equatable {
        /// The session's id as last known (node and route parts included): where its copy is.
        var id: SessionID
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
            evicted = oldest.map(\.value.id)
            for (key, _) in oldest { members[key] = nil }
        }
        members[random] = Member(id: id, loginTime: loginTime, expiresAt: expiresAt)
        return .loggedIn(evicted: evicted)
    }

    /// A request of the session renewed its store copy (and knows its id as it is now: a
    /// relocation or a takeover changed it in place).
    mutating func refresh(_ id: SessionID, expiresAt: Int64, now: Int64) {
        prune(now: now)
        guard var member = members[id.random] else { return }
        member.id = id
        member.expiresAt = max(expiresAt, member.expiresAt)
        members[id.random] = member
    }

    /// The session's id changed (`changeSessionId()`): its member follows it. `false` when it
    /// has no member (pruned, or evicted meanwhile).
    @discardableResult
    mutating func rename(_ old: String, to new: SessionID, now: Int64) -> Bool {
        prune(now: now)
        guard var member = members.removeValue(forKey: old) else { return false }
        member.id = new
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

    /// One line per member, `id loginTime expiresAt`, sorted (equal indexes, equal bytes).
    var encoded: [UInt8] {
        Array(members.sorted { $0.key < $1.key }.map { "\($0.value.id) \($0.value.loginTime) \($0.value.expiresAt)\n" }.joined().utf8)
    }

    /// Reads ``encoded``; `nil` for bytes that are not an index (a corrupt key is dropped, as a
    /// corrupt session is: the next login writes a new one).
    init?(encoded bytes: [UInt8]) {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let id = SessionID(parsing: fields[0]),
                  let login = Int64(fields[1]), let expires = Int64(fields[2]),
                  members[id.random] == nil
            else { return nil }
            members[id.random] = Member(id: id, loginTime: login, expiresAt: expires)
        }
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
