import CoreMetrics
import Logging
import Synchronization

/// Counters of the store locks of one manager (non-sticky locking), for the operability issue's
/// statistics.
public struct LockCounters: Sendable, Equatable {
    /// Locks taken.
    public var taken = 0
    /// Locks that were held by someone else at the first try, so the request waited.
    public var waits = 0
    /// Total time requests waited for a lock held by someone else, in milliseconds.
    public var waitMilliseconds = 0
    /// Locks not had within `operationTimeout` (or a store error while locking).
    public var failures = 0
    /// Of those, requests that went on unlocked (``LockFailurePolicy/proceed``).
    public var proceededUnlocked = 0
    /// Locks extended because a request ran past half of `lockExpiration`.
    public var renewals = 0
    /// Locks found lost at a renewal (expired, taken by another node).
    public var lost = 0
    /// Request ids learned as read-only (``LockingMode/auto``).
    public var readOnlyLearned = 0
}

/// The lock counters that are not also metrics (those are ``SessionMetrics``' `lock…` counters).
final class LockStatistics: Sendable {
    let waitNanoseconds = Atomic<Int>(0)
    let proceeded = Atomic<Int>(0)
    let learned = Atomic<Int>(0)
}

extension SessionManager {
    /// Lock counters so far.
    public var lockCounters: LockCounters {
        LockCounters(
            taken: metrics.lockTaken.value,
            waits: metrics.lockWaited.value,
            waitMilliseconds: executor.lockStatistics.waitNanoseconds.load(ordering: .relaxed) / 1_000_000,
            failures: metrics.lockFailed.value,
            proceededUnlocked: executor.lockStatistics.proceeded.load(ordering: .relaxed),
            renewals: metrics.lockRenewed.value,
            lost: metrics.lockLost.value,
            readOnlyLearned: executor.lockStatistics.learned.load(ordering: .relaxed)
        )
    }

    /// msm's request id of a request, when the locking mode looks at it (``LockingMode/auto``,
    /// ``LockingMode/uriPattern(pattern:regex:)``); built once per request.
    func lockingRequestID(method: String, path: Substring, query: Substring?) -> String? {
        switch configuration.lockingMode {
        case .none, .all: return nil
        case .auto, .uriPattern: return Self.requestID(method: method, path: path, query: query)
        }
    }

    /// Whether a request with this request id (see ``lockingRequestID(method:path:query:)``)
    /// locks its session (``LockingMode``).
    func locks(requestID: String?) -> Bool {
        guard policy.locks else { return false }
        switch configuration.lockingMode {
        case .none: return false
        case .all: return true
        case .auto: return !(requestID.map(readOnlyRequests.isReadOnly) ?? false)
        case .uriPattern(_, let regex): return requestID.map(regex.matches) ?? false
        }
    }

    /// msm's request id: `"<METHOD> <path>[?<query>]"`, the query omitted for `POST`.
    static func requestID(method: String, path: Substring, query: Substring?) -> String {
        guard let query, method != "POST" else { return "\(method) \(path)" }
        return "\(method) \(path)?\(query)"
    }

    /// ``LockingMode/auto``: a request with this id ended having changed a session or not.
    func learn(requestID: String, modified: Bool) {
        guard policy.locks, case .auto = configuration.lockingMode else { return }
        if readOnlyRequests.learn(requestID, modified: modified) {
            executor.lockStatistics.learned.add(1, ordering: .relaxed)
        }
    }

    /// A lock's value: 16 bytes from the system CSPRNG, in hex.
    static func lockToken() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var token: [UInt8] = []
        token.reserveCapacity(32)
        for _ in 0..<2 {
            let word = generator.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) { token.append(digits[Int((word >> UInt64(shift)) & 0xF)]) }
        }
        return token
    }
}
