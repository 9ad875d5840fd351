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

    /// The session for `id` with one more reference: the in-use instance, the result of a load in
    /// progress, or what `load` returns (registered for the next requests). `nil`: the store does not know it.
    func acquire(_ id: SessionID, load: () async throws -> Session?) async throws -> Session? {
        let key = id.description
        enum Step { case shared(Session), wait, load }
        let step: Step = entries.withLock { entries in
            switch entries[key] {
            case .active(let session, let references):
                entries[key] = .active(session, references: references + 1)
                return .shared(session)
            case .loading:
                return .wait
            case nil:
                entries[key] = .loading([])
                return .load
            }
        }
        switch step {
        case .shared(let session):
            return session
        case .wait:
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
        case .load:
            let result: Result<Session?, any Error>
            do {
                result = .success(try await load())
            } catch {
                result = .failure(error)
            }
            let waiters: [Waiter] = entries.withLock { entries in
                guard case .loading(let waiters) = entries[key] else { return [] }
                if case .success(let session?) = result {
                    entries[key] = .active(session, references: 1 + waiters.count)
                } else {
                    entries[key] = nil
                }
                return waiters
            }
            for waiter in waiters { waiter.resume(returning: result) }
            return try result.get()
        }
    }

    /// Registers a session this request created (a fresh id, so no other request can have it).
    func register(_ session: Session) {
        entries.withLock { $0[session.id.description] = .active(session, references: 1) }
    }

    /// Drops one reference to `session`, which was registered under `registeredID`; re-files it under
    /// its current id if that changed, and removes it after the last reference or once invalidated.
    func release(_ session: Session, registeredID: SessionID) {
        let currentID = session.id
        entries.withLock { entries in
            for key in [registeredID.description, currentID.description] {
                guard case .active(let registered, let references) = entries[key], registered === session else { continue }
                entries[key] = nil
                if references > 1 && session.isValid {
                    entries[currentID.description] = .active(session, references: references - 1)
                }
                return
            }
        }
    }
}
