import Foundation
import Logging
import Synchronization

/// Writes a session to its store once per change, one writer at a time (see ``PersistenceState``).
///
/// A class: the manager hands it to every request, and copying a struct of existentials and
/// strings on each access cost retains on the hot path.
final class SessionWriter: Sendable {
    let store: any SessionStore
    let transcoder: any SessionTranscoder
    let keyPrefix: String
    /// Attributes not matching are not written (msm `sessionAttributeFilter`).
    let filter: SessionAttributeFilter?
    /// Largest blob written, in bytes.
    let maxSessionSize: Int

    init(store: any SessionStore, configuration: ManagerConfiguration) {
        self.store = store
        self.transcoder = configuration.transcoder
        self.keyPrefix = configuration.storageKeyPrefix
        self.filter = configuration.sessionAttributeFilter
        self.maxSessionSize = configuration.maxSessionSize
    }

    func key(for id: SessionID) -> String { keyPrefix + id.description }

    /// `true` when the store holds every change made to `session` so far and no touch is due:
    /// ``persist(_:)`` would do nothing, so the request can skip it without suspending.
    func isUpToDate(_ session: Session) -> Bool {
        let (generation, interval) = session.withState { ($0.generation, $0.maxInactiveInterval) }
        let now = ContinuousClock.now
        return session.persistence.withLock { p in
            p.stored != nil && p.storedGeneration >= generation && !Self.touchIsDue(p, ttl: .seconds(interval), now: now)
        }
    }

    /// Whether a quarter of the time to live has passed since the last load, write or touch.
    private static func touchIsDue(_ p: PersistenceState, ttl: Duration, now: ContinuousClock.Instant) -> Bool {
        p.stored != nil && !p.deleted && now - p.lastTouched > ttl / 4
    }

    /// Makes sure every change to `session` made so far is in the store.
    func persist(_ session: Session) async throws {
        let target = session.withState { $0.generation }
        while true {
            enum Step { case done, wait, write(SessionSnapshot, UInt64, SessionID) }
            let step: Step = session.persistence.withLock { p in
                if p.storedGeneration >= target && p.stored != nil { return .done }
                if p.writing { return .wait }
                p.writing = true
                let (snapshot, generation, id) = session.snapshot(now: Date())
                return .write(snapshot, generation, id)
            }
            switch step {
            case .done:
                if let due = touchDue(session) { _ = try await store.touch(due.key, ttl: due.ttl) }
                return
            case .wait:
                let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<PersistenceState.WaitOutcome, Never>) in
                    session.persistence.withLock { p in
                        if p.storedGeneration >= target && p.stored != nil {
                            continuation.resume(returning: .covered)
                        } else if !p.writing {
                            continuation.resume(returning: .retry)
                        } else {
                            p.waiters.append((target, continuation))
                        }
                    }
                }
                switch outcome {
                case .covered: return
                case .failed(let error): throw error
                case .retry: continue
                }
            case .write(var snapshot, let generation, let id):
                if let filter { snapshot.attributes = filter.apply(snapshot.attributes) }
                let previous = session.persistence.withLock { ($0.stored, $0.storedID) }
                var failure: (any Error)?
                do {
                    try await write(snapshot, id: id, previous: previous.0, previousID: previous.1)
                } catch {
                    failure = error
                }
                let waiters = session.persistence.withLock { p in
                    p.writing = false
                    if failure == nil {
                        p.lastTouched = .now
                        p.stored = snapshot
                        p.storedID = id
                        p.storedGeneration = generation
                    }
                    let waiters = p.waiters
                    p.waiters.removeAll()
                    return waiters
                }
                for waiter in waiters {
                    if waiter.generation <= generation {
                        waiter.continuation.resume(returning: failure.map { .failed($0) } ?? .covered)
                    } else {
                        waiter.continuation.resume(returning: .retry)
                    }
                }
                if let failure { throw failure }
                return
            }
        }
    }

    /// The key and time to live to touch when a quarter of the session's time to live has passed
    /// since the last load, write or touch (see ``PersistenceState/lastTouched``); `nil` otherwise.
    private func touchDue(_ session: Session) -> (key: String, ttl: Duration)? {
        let (id, interval) = session.withState { ($0.id, $0.maxInactiveInterval) }
        let ttl = Duration.seconds(interval)
        let now = ContinuousClock.now
        let due = session.persistence.withLock { p -> Bool in
            guard Self.touchIsDue(p, ttl: ttl, now: now) else { return false }
            p.lastTouched = now
            return true
        }
        return due ? (key(for: id), ttl) : nil
    }

    /// One store write, skipped when the store already holds these exact contents.
    private func write(_ snapshot: SessionSnapshot, id: SessionID, previous: SessionSnapshot?, previousID: SessionID?) async throws {
        let unchanged = previous.map {
            $0.attributes == snapshot.attributes && $0.maxInactiveInterval == snapshot.maxInactiveInterval
        } ?? false
        if unchanged && previousID == id { return }
        let bytes = try transcoder.encode(snapshot)
        guard bytes.count <= maxSessionSize else {
            throw SessionManagerError(
                .sessionTooLarge,
                "encoded session is \(bytes.count) bytes, over maxSessionSize \(maxSessionSize); not written, the store keeps the previous copy"
            )
        }
        try await store.set(key(for: id), value: bytes, ttl: .seconds(snapshot.maxInactiveInterval))
        if let previousID, previousID != id {
            try await store.delete(key(for: previousID))
        }
    }

    /// Deletes every key the session was ever stored under (invalidation).
    func delete(_ session: Session) async throws {
        let ids: [SessionID] = session.persistence.withLock { p in
            guard !p.deleted else { return [] }
            p.deleted = true
            return p.storedID.map { [$0] } ?? []
        } + session.withState { $0.retiredIDs }
        for id in Set(ids) { try await store.delete(key(for: id)) }
    }
}
