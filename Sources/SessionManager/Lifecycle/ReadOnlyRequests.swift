import Synchronization

/// What `lockingMode="auto"` has learned about request ids (msm's `ReadOnlyRequestsCache`): the ids
/// whose requests loaded a session and did not change it (read-only: they do not lock), and the
/// ids whose requests changed one (modifying: never read-only again).
///
/// Both sets are bounded (msm's sizes: 1000 read-only, 50 000 modifying) and drop their least
/// recently used half when full, so a client sending endless distinct URLs costs bounded memory;
/// a modifying id dropped that way is simply learned again (its next request locks anyway).
final class ReadOnlyRequests: Sendable {
    private struct State {
        var readOnly: [String: UInt64] = [:]
        var modifying: [String: UInt64] = [:]
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    let readOnlyLimit: Int
    let modifyingLimit: Int

    init(readOnlyLimit: Int = 1000, modifyingLimit: Int = 50_000) {
        self.readOnlyLimit = max(2, readOnlyLimit)
        self.modifyingLimit = max(2, modifyingLimit)
    }

    /// Whether requests with this id are known read-only (a use that keeps it in the set).
    func isReadOnly(_ requestID: String) -> Bool {
        state.withLock { state in
            guard state.readOnly[requestID] != nil else { return false }
            state.clock &+= 1
            state.readOnly[requestID] = state.clock
            return true
        }
    }

    /// A request with this id ended having changed its session (`modified`) or not. Returns `true`
    /// when the id was newly learned as read-only.
    @discardableResult
    func learn(_ requestID: String, modified: Bool) -> Bool {
        state.withLock { state in
            state.clock &+= 1
            if modified {
                state.readOnly[requestID] = nil
                state.modifying[requestID] = state.clock
                Self.trim(&state.modifying, to: modifyingLimit)
                return false
            }
            if let _ = state.modifying.index(forKey: requestID) {
                state.modifying[requestID] = state.clock
                return false
            }
            let isNew = state.readOnly.updateValue(state.clock, forKey: requestID) == nil
            Self.trim(&state.readOnly, to: readOnlyLimit)
            return isNew
        }
    }

    /// Number of ids known read-only.
    var readOnlyCount: Int { state.withLock { $0.readOnly.count } }

    /// Drops the least recently used half of a set over its limit (amortised O(1) per insertion).
    private static func trim(_ set: inout [String: UInt64], to limit: Int) {
        guard set.count > limit else { return }
        let cut = set.values.sorted()[set.count - limit / 2]
        set = set.filter { $0.value >= cut }
    }
}
