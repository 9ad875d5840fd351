import Synchronization

/// The sessions that requests on this node are using right now, by id.
///
/// A request for an id that another in-flight request already has gets the same ``Session``
/// (reference-counted), as msm does per Tomcat: concurrent requests see each other's changes and
/// ``Session/update(_:_:)`` is atomic across them. Loading is single-flight: while one request
/// loads an id from the store, the others for that id wait for its result instead of loading a
/// copy of their own — a second copy, registered after the first had been saved and released,
/// would be stale and its write would lose the first one's update. The entry goes away when the
/// last request finishes, so memory holds only sessions in use and the store stays the source of truth.
final class ActiveSessions: Sendable {
    private typealias Waiter = CheckedContinuation<Result<Session?, any Error>, Never>

    private enum Entry {
        case loading([Waiter])
        case active(Session, references: Int)
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Number of sessions in use.
    var count: Int {
        entries.withLock { $0.values.count { if case .active = $0 { true } else { false } } }
    }

    /// What ``begin(_:)`` found for an id.
    enum Lookup {
        /// In use by another request: shared, with one more reference.
        case shared(Session)
        /// Another request is loading it: ``wait(for:)``.
        case loading
        /// Nobody has it: the caller loads it and calls ``completeLoad(_:with:)``.
        case mustLoad
    }

    /// The first step of getting the session for `id`, without suspending.
    func begin(_ id: SessionID) -> Lookup {
        entries.withLock { entries in
            switch entries[id.description] {
            case .active(let session, let references):
                entries[id.description] = .active(session, references: references + 1)
                return .shared(session)
            case .loading:
                return .loading
            case nil:
                entries[id.description] = .loading([])
                return .mustLoad
            }
        }
    }

    /// Publishes the result of a load started after ``Lookup/mustLoad`` to the requests waiting for it.
    func completeLoad(_ id: SessionID, with result: Result<Session?, any Error>) {
        let waiters: [Waiter] = entries.withLock { entries in
            guard case .loading(let waiters) = entries[id.description] else { return [] }
            if case .success(let session?) = result {
                entries[id.description] = .active(session, references: 1 + waiters.count)
            } else {
                entries[id.description] = nil
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    /// Waits for the load another request is doing (after ``Lookup/loading``).
    func wait(for id: SessionID) async throws -> Session? {
        let key = id.description
        let result = await withCheckedContinuation { (waiter: Waiter) in
            let resumeNow: Result<Session?, any Error>? = entries.withLock { entries in
                switch entries[key] {
                case .loading(let waiters):
                    entries[key] = .loading(waiters + [waiter])
                    return nil
                case .active(let session, let references):
                    entries[key] = .active(session, references: references + 1)
                    return .success(session)
                case nil:
                    return .success(nil)
                }
            }
            if let resumeNow { waiter.resume(returning: resumeNow) }
        }
        return try result.get()
    }

    /// Registers a session this request created (a fresh id, so no other request can have it).
    func register(_ session: Session) {
        entries.withLock { $0[session.id.description] = .active(session, references: 1) }
    }

    /// Drops one reference to `session`, which was registered under `registeredID`; re-files it under
    /// its current id if that changed, and removes it after the last reference or once invalidated.
    func release(_ session: Session, registeredID: SessionID) {
        let currentID = session.id
        let isValid = session.isValid
        entries.withLock { entries in
            var key = registeredID.description
            guard case .active(let registered, let references) = entries[key], registered === session else {
                // Another request of this session re-filed it under its new id already.
                key = currentID.description
                guard key != registeredID.description, case .active(let registered, let references) = entries[key], registered === session
                else { return }
                entries[key] = references > 1 && isValid ? .active(session, references: references - 1) : nil
                return
            }
            if currentID == registeredID {
                entries[key] = references > 1 && isValid ? .active(session, references: references - 1) : nil
            } else {
                entries[key] = nil
                if references > 1 && isValid { entries[currentID.description] = .active(session, references: references - 1) }
            }
        }
    }
}
