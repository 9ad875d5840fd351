/// Bookkeeping of what the store holds of one ``Session`` and of the write in progress.
///
/// Concurrent requests on this node share one `Session`; when several finish at once only one of
/// them writes at a time, and a write covers every change made before it started (its
/// *generation*). The others wait for a write that covers their own changes instead of each
/// writing a copy that might land out of order and lose an update.
struct PersistenceState: Sendable {
    /// What the store holds (as of the last successful write or the load); `nil`: nothing yet.
    var stored: SessionSnapshot?
    /// The id the stored copy is filed under.
    var storedID: SessionID?
    /// The highest session generation known to be in the store.
    var storedGeneration: UInt64 = 0
    /// Whether a request is writing now.
    var writing = false
    /// Requests waiting for a write that covers `generation`.
    var waiters: [(generation: UInt64, continuation: CheckedContinuation<WaitOutcome, Never>)] = []
    /// Set once the session was deleted from the store (invalidated).
    var deleted = false
    /// When the store's time to live was last reset (load, write or touch). Requests that share the
    /// in-memory instance do not read the store, so without a touch now and then a session kept
    /// busy by overlapping requests could expire in the store while in use.
    var lastTouched = ContinuousClock.now

    enum WaitOutcome: Sendable {
        case covered
        case failed(any Error)
        case retry
    }
}
