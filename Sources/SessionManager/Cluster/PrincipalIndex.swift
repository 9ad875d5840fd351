import Foundation

/// The index of one principal's sessions: one member per session, keyed by the session id's
/// random part (a relocation or a takeover changes the node and route parts only), with its login
/// time and when its session's store copy expires. Bounded: members whose session has expired
/// are pruned by every operation, and a login beyond ``ManagerConfiguration`` 's per-principal
/// limit evicts the oldest logins or is refused.
///
/// A value with pure operations: the memory store keeps it in process, memcached stores its
/// ``encoded`` bytes under a CAS-checked key (read, change, write back only if unchanged), and the
/// Redis store runs the same rules in one script. Times are Unix milliseconds.
struct PrincipalIndex: Sendable, Equatable {
    struct Member: Sendable, Equatable {
        /// When the session logged in.
        var loginTime: Int64
        /// When the session's store copy expires (members past it are pruned).
        var expiresAt: Int64
    }

    /// What a login beyond the limit does.
    enum LimitPolicy: String, Sendable, CaseIterable {
        /// The sessions with the oldest logins are invalidated (the default).
        case invalidateOldest
        /// The login is refused.
        case reject
    }

    /// What ``logIn(_:loginTime:expiresAt:now:limit:policy:)`` decided.
    enum LoginOutcome: Sendable, Equatable {
        /// Logged in; these members (random parts) were evicted to stay within the limit: their
        /// sessions must be invalidated everywhere.
        case loggedIn(evicted: [String])
        /// The principal already has `limit` sessions and the policy is ``LimitPolicy/reject``.
        case refused
    }

    private(set) var members: [String: Member] = [:]

    /// Drops the members whose session has expired by `now`.
    mutating func prune(now: Int64) {
        members = members.filter { $0.value.expiresAt > now }
    }

    /// Adds (or renews) the member `random`, within `limit` members (`nil`: unlimited).
    mutating func logIn(_ random: String, loginTime: Int64, expiresAt: Int64, now: Int64, limit: Int?, policy: LimitPolicy) -> LoginOutcome {
        prune(now: now)
        var evicted: [String] = []
        if let limit, members[random] == nil, members.count >= limit {
            guard policy == .invalidateOldest else { return .refused }
            // Oldest logins first; equal times by random part, so every node evicts the same ones.
            let byAge = members.sorted { ($0.value.loginTime, $0.key) < ($1.value.loginTime, $1.key) }
            evicted = byAge.prefix(members.count - limit + 1).map(\.key)
            for key in evicted { members[key] = nil }
        }
        members[random] = Member(loginTime: loginTime, expiresAt: expiresAt)
        return .loggedIn(evicted: evicted)
    }

    /// A request of the session renewed its store copy.
    mutating func refresh(_ random: String, expiresAt: Int64, now: Int64) {
        prune(now: now)
        members[random]?.expiresAt = expiresAt
    }

    /// The session's id changed (`changeSessionId()`, a new login): its member follows it.
    mutating func rename(_ old: String, to new: String, now: Int64) {
        prune(now: now)
        guard let member = members.removeValue(forKey: old) else { return }
        members[new] = member
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

    /// One line per member, `random loginTime expiresAt`, sorted (equal indexes, equal bytes).
    var encoded: [UInt8] {
        Array(members.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.loginTime) \($0.value.expiresAt)\n" }.joined().utf8)
    }

    /// Reads ``encoded``; `nil` for bytes that are not an index (a corrupt key is dropped, as a
    /// corrupt session is: the next login writes a new one).
    init?(encoded bytes: [UInt8]) {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, Self.isRandomPart(fields[0]),
                  let login = Int64(fields[1]), let expires = Int64(fields[2]),
                  members[String(fields[0])] == nil
            else { return nil }
            members[String(fields[0])] = Member(loginTime: login, expiresAt: expires)
        }
    }

    init() {}

    /// 32 upper-case hex digits: a session id's random part.
    static func isRandomPart(_ text: Substring) -> Bool {
        text.utf8.count == SessionID.randomLength && text.utf8.allSatisfy(SessionID.isUpperHex)
    }
}
