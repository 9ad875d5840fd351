import Logging
import Synchronization

extension SessionManager {
    /// Sticky mode: writes a resident session's changes to the store (after the response, or
    /// before it within `sessionBackupTimeout`). A failure is the node's state (logged once by
    /// the availability tracking), never the request's: memory holds the primary copy, and the
    /// session is written again after its next request, or by ``writeUnsavedResidents()`` once
    /// the node answers.
    ///
    /// After the response (`sessionBackupAsync`) nobody waits for the write, so a request that
    /// finds another writing the session hands its changes over instead of waiting (see
    /// ``SessionWriter/persist(_:registeredID:waits:)``); before the response it waits, as it
    /// must know its own changes are stored.
    ///
    /// A writer after the response writes twice at most (its own changes, then those handed to it
    /// meanwhile): its HTTP connection reads its next request only after this returns. What was
    /// handed over after that goes to the background work.
    func writeResident(_ session: Session, registeredID: SessionID) async {
        do {
            let more = try await writer.persist(
                session,
                registeredID: registeredID,
                waits: !configuration.sessionBackupAsync,
                rewrites: configuration.sessionBackupAsync ? 1 : .max
            )
            if more {
                background.submit { [self] in await writeResident(session, registeredID: registeredID) }
            }
            storeWorked()
        } catch {
            storeFailed(error)
            unsavedResidents.store(true, ordering: .relaxed)
            let level: Logger.Level = Self.failsTheRequest(error) ? .debug : .error
            logger.log(
                level: level,
                "session write to the store failed; kept in memory",
                metadata: ["sm.session": "\(session.id.logTag)", "sm.error": "\(error)"]
            )
        }
    }

    /// After a failed sticky write (a node down), once a second: writes the resident sessions the
    /// store lacks whose node answers again, so that a restart of the store node loses nothing
    /// even for sessions that get no further request.
    func writeUnsavedResidents() async {
        guard unsavedResidents.exchange(false, ordering: .relaxed) else { return }
        for session in active.unsavedResidents() {
            // A session made while every node was down (no node in its id) gets its node on its
            // next request, and its client the cookie with it: nothing to write before.
            guard let node = storage.node(for: session.id) else { continue }
            guard node.availability.isUp else {
                unsavedResidents.store(true, ordering: .relaxed)  // still down: next time
                continue
            }
            await writeResident(session, registeredID: session.id)
        }
    }
}
