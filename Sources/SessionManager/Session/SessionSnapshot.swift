import Foundation

/// Everything a store keeps of a session: the header fields and the attributes.
///
/// This is what a ``SessionTranscoder`` turns into bytes and back. It is a value: a request works
/// on a ``Session`` and the manager takes a snapshot of it when it saves.
public struct SessionSnapshot: Sendable, Hashable {
    /// The session id as sent in the cookie.
    public var id: String
    /// When the session was created.
    public var creationTime: Date
    /// When a request last used the session (as of the last write).
    public var lastAccessedTime: Date
    /// Idle time after which the session expires, in whole seconds.
    public var maxInactiveInterval: Int
    /// The attributes.
    public var attributes: [String: SessionValue]

    /// Creates a snapshot.
    public init(
        id: String,
        creationTime: Date,
        lastAccessedTime: Date,
        maxInactiveInterval: Int,
        attributes: [String: SessionValue]
    ) {
        self.id = id
        self.creationTime = creationTime
        self.lastAccessedTime = lastAccessedTime
        self.maxInactiveInterval = maxInactiveInterval
        self.attributes = attributes
    }
}
