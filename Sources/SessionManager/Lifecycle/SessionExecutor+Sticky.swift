import Logging
import Synchronization

extension SessionExecutor {
    /// Sticky mode: writes a resident session's changes to the store (after the response, or
    /// before it within `sessionBackupTimeout`). A failure is the node's state (logged once by
    /// the availability tracking), never the request's: memory holds the primary copy, and the
    /// session is written again after its next request, or by ``writeUnsavedResidents()`` once
    /// the node answers.
    ///
    /// After the response (`sessionBackupAsync`) nobody waits for the write, so a request that
    /// finds another writing the session hands its changes over instead of waiting (see
    /// ``persist(_:_:waits:rewrites:)``); before the response it waits, as it must know its own
    /// changes are stored.
    ///
    /// A writer after the response writes twice at most (its own changes, then those handed to it
    /// meanwhile): its HTTP connection reads its next request only after this returns. What was
    /// handed over after that goes to the background work.
    ///
    /// `beforeAnswer`: the request waits for this write (see ``RequestSessions``), so it waits for
    /// another request's write of the session too, and writes until its own changes are stored.
    func writeResident(_ lease: SessionTable.Lease, _ session: Session, beforeAnswer: Bool = false) async {
        let async = configuration.sessionBackupAsync && !beforeAnswer
        do {
            let more = try await persist(lease, session, waits: !async, rewrites: async ? 1 : .max)
            if more {
                pendingWrites.add(1, ordering: .relaxed)
                background.submit { [self] in await writePending(lease, session) }
            }
        } catch {
            unsavedResidents.store(true, ordering: .relaxed)
            let level: Logger.Level = Self.failsTheRequest(error) ? .debug : .error
            logger.log(
                level: level,
                "session write to the store failed; kept in memory",
                metadata: ["sm.session": "\(session.id.logTag)", "sm.error": "\(error)"]
            )
        }
    }

    /// Writes a sticky session whose write was put off until after its response (counted in
    /// ``pendingWrites`` when it was put off), and counts it done.
    func writePending(_ lease: SessionTable.Lease, _ session: Session) async {
        await writeResident(lease, session)
        pendingWrites.subtract(1, ordering: .relaxed)
    }

    /// After a failed sticky write (a node down), once a second: writes the resident sessions the
    /// store lacks whose node answers again, so that a restart of the store node loses nothing
    /// even for sessions that get no further request.
    func writeUnsavedResidents() async {
        guard unsavedResidents.exchange(false, ordering: .relaxed) else { return }
        for (session, lease) in table.unsavedResidents() {
            // A session made while every node was down (no node in its id) gets its node on its
            // next request, and its client the cookie with it: nothing to write before.
            guard let node = storage.node(for: session.id) else { continue }
            guard node.availability.isUp else {
                unsavedResidents.store(true, ordering: .relaxed)  // still down: next time
                continue
            }
            await writeResident(lease, session)
        }
    }

    /// Once a second: the store nodes that restarted empty since last asked lost the copies of
    /// the resident sessions written to them; those are marked unsaved, so that
    /// ``writeUnsavedResidents()`` (right after) writes them again. Said once per restart.
    func refillRestartedNodes() async {
        for node in await storage.restartedNodes() {
            let lost = table.residents().filter { storage.copies(of: $0.0.id, on: node) }
            for (_, lease) in lost { table.storeLostCopy(lease) }
            if !lost.isEmpty { unsavedResidents.store(true, ordering: .relaxed) }
            logger.info(
                "store node restarted empty: writing again the copies of the resident sessions it held",
                metadata: ["sm.node": "\(node.id ?? "store")", "sm.sessions": "\(lost.count)"]
            )
        }
    }

    /// Waits until the writes after earlier answers are done (and tries once more what a store
    /// failure left unsaved), `timeout` at most.
    func drainPendingWrites(within timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while pendingWrites.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
        await writeUnsavedResidents()
        let left = pendingWrites.load(ordering: .relaxed)
        if left > 0 {
            logger.warning("draining: \(left) session writes still under way at the deadline", metadata: ["sm.pending": "\(left)"])
        }
    }
}
