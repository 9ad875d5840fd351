/// A store that carries notices between the app nodes (Redis publish and subscribe): a session
/// invalidated by principal on one node is dropped from every other node's memory at once,
/// instead of at its next revalidation (``ManagerConfiguration/residentRevalidationInterval``).
package protocol NoticeCarrier: SessionStore {
    /// Sends `message` to every node listening on `channel`.
    func publish(_ channel: String, _ message: String) async throws

    /// Listens on `channel` until cancelled, reconnecting after a failure: `onSubscribed` after
    /// each (re)subscription (notices sent while it was away are lost: the caller looks again at
    /// what it holds), `onMessage` for each message.
    func listen(_ channel: String, onSubscribed: @escaping @Sendable () async -> Void, onMessage: @escaping @Sendable (String) -> Void) async
}
