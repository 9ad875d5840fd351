#if VaporSupport
import Logging
import SessionManager
import Synchronization
import Vapor

/// Runs session managers while a Vapor application runs, and stops them after its server:
/// `app.lifecycle.use(SessionManagersLifecycle(managers: [manager]))` (``ClusterSessions`` is one
/// already).
///
/// Vapor shuts its lifecycle handlers down *before* its server (the server is closed with the
/// application's storage, afterwards), so at shutdown this handler:
/// 1. tells sticky managers to drain: from now on each change is written before its answer;
/// 2. shuts the HTTP server down itself (it stops accepting and lets the requests under way end,
///    within the server's `shutdownTimeout`; Vapor's later call finds it closed);
/// 3. waits for the writes after earlier answers (5 s at most);
/// 4. stops the managers: their queued background work runs out, then their stores close.
public final class SessionManagersLifecycle: LifecycleHandler {
    /// The managers it runs.
    public let managers: [SessionManager]
    /// How long the shutdown waits for the writes after earlier answers.
    public let drainTimeout: Duration
    private let runs = Mutex<[Task<Void, Never>]>([])

    /// A lifecycle handler for `managers`.
    public init(managers: [SessionManager], drainTimeout: Duration = .seconds(5)) {
        self.managers = managers
        self.drainTimeout = drainTimeout
    }

    /// Starts the managers (their stores connect, their background work runs).
    public func willBootAsync(_ application: Application) async throws {
        start()
    }

    /// The same, for an application booted without async.
    public func willBoot(_ application: Application) throws {
        start()
    }

    /// Drains, shuts the server down, then stops the managers (see the type's description).
    public func shutdownAsync(_ application: Application) async {
        for manager in managers { manager.beginDraining() }
        await application.server.shutdown()
        for manager in managers { await manager.drainPendingWrites(within: drainTimeout) }
        for manager in managers { manager.stop() }
        for run in runs.withLock({ runs in defer { runs = [] }; return runs }) {
            await run.value
        }
    }

    /// Starts each manager's `run` once; a store that cannot work (a wrong password) ends its
    /// manager's run, and is logged as critical: its requests answer `503`.
    private func start() {
        runs.withLock { runs in
            guard runs.isEmpty else { return }
            runs = managers.map { manager in
                Task {
                    do {
                        try await manager.runUntilStopped()
                    } catch {
                        manager.logger.critical("session manager stopped: \(error)")
                    }
                }
            }
        }
    }
}
#endif
