/// What a failed store operation says about the node that ran it.
///
/// Availability must react only to a node that is gone: a node that answered "no" to one command
/// (a value over its size limit, an out-of-memory refusal) is alive, and marking it down would move
/// every new session away from it, or log a store outage, because of one oversized session.
public enum StoreFailureKind: Sendable, Hashable {
    /// The node could not be reached, closed the connection, or did not answer in time: it may be
    /// down. Node availability and the manager's outage log react to this kind only.
    case unreachable
    /// The node answered and refused this one command: the node itself works.
    case refused

    /// `true` for a failure of the store node itself (unreachable, timed out); `false` for a
    /// command the node refused or the refusal of one session (too large). Node availability and
    /// the outage log react to the first kind only.
    static func isOutage(_ error: any Error) -> Bool {
        ((error as? any SessionStoreFailure)?.failureKind ?? .unreachable) == .unreachable
    }
}

/// An error thrown by a ``SessionStore`` that says which ``StoreFailureKind`` it is.
///
/// A store error without this conformance counts as ``StoreFailureKind/unreachable``: a node that
/// fails in a way the manager cannot read is not trusted with new sessions until it answers again.
public protocol SessionStoreFailure: Error {
    /// What this failure says about the node.
    var failureKind: StoreFailureKind { get }
}

extension SessionManagerError: SessionStoreFailure {
    /// ``Code/storeUnavailable`` is ``StoreFailureKind/unreachable``;
    /// everything else (a session too large, a corrupt one) is about one session, not its node.
    public var failureKind: StoreFailureKind {
        code == .storeUnavailable ? .unreachable : .refused
    }
}
