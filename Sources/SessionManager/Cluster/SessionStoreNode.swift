/// One store node as a ``SessionManager`` uses it: the store, and the id that session ids carry.
public struct SessionStoreNode: Sendable {
    /// The node id (msm's `n1` in `n1:host:port`); `nil` for the single node of a context that
    /// configures none (then session ids carry no node part, as in msm).
    public let id: String?
    /// The store.
    public let store: any SessionStore
    /// Used for new sessions only while no other node is available (msm `failoverNodes`), and
    /// never for backup copies.
    public let isFailover: Bool

    /// Creates a node.
    /// - Precondition: `id`, when given, is a valid node id (``SessionID/isNodeID(_:)``).
    public init(id: String?, store: any SessionStore, isFailover: Bool = false) {
        precondition(id.map { SessionID.isNodeID($0.utf8) } ?? true, "invalid node id")
        self.id = id
        self.store = store
        self.isFailover = isFailover
    }
}
