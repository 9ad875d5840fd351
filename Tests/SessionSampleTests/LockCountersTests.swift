import Foundation
import Logging
import SessionManager
import SessionStores
import SessionTesting
import Testing

/// The lock counters of ``SessionManager/lockCounters``, with two managers in this process playing
/// two app nodes on one real store (the counters are what the operability work exports).
@Suite(.capturedLog) struct LockCountersTests {
    /// Two running managers on one store of `kind`, with `configure` applied to both.
    static func withTwoManagers(
        _ kind: StoreServerProcess.Kind,
        _ configure: (inout ManagerConfiguration) -> Void,
        _ body: (SessionManager, SessionManager) async throws -> Void
    ) async throws {
        try await StoreServerProcess.with(kind) { server in
            var configuration = ManagerConfiguration()
            configuration.memcachedNodes = try StoreNode.parseList(StickySessionTests.entry(kind, "n1", server))
            configuration.sticky = false
            configure(&configuration)
            let logger = Logger(label: "lock-counters")
            let a = SessionManager(configuration: configuration, nodes: try SessionStores.makeNodes(for: configuration, logger: logger), logger: logger)
            let b = SessionManager(configuration: configuration, nodes: try SessionStores.makeNodes(for: configuration, logger: logger), logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await a.run() }
                group.addTask { try await b.run() }
                do {
                    try await body(a, b)
                } catch {
                    group.cancelAll()
                    throw error
                }
                group.cancelAll()
            }
        }
    }

    /// A request of `manager` for `path` with the session `id`.
    static func request(_ manager: SessionManager, _ path: Substring, _ id: SessionID?, query: Substring? = nil) -> RequestSessions {
        manager.beginRequest(method: "GET", path: path, query: query, requestedIDs: RequestedSessionIDs(id))
    }

    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func takenWaitedFailedAndRenewedLocksAreCounted() async throws {
        try await Self.withTwoManagers(.redis(), {
            $0.lockingMode = .all
            $0.lockExpiration = .milliseconds(800)
            $0.operationTimeout = .milliseconds(300)
        }) { a, b in
            let create = Self.request(a, "/app/count", nil)
            let session = try await create.session()
            session.set("count", 1)
            guard case .set(let id) = await create.finish() else { Issue.record("a cookie"); return }
            #expect(a.lockCounters.taken == 0, "a new session needs no lock")

            let holder = Self.request(a, "/app/count", id)
            let held = try #require(try await holder.existingSession())
            #expect(a.lockCounters.taken == 1)
            let blocked = Self.request(b, "/app/count", id)
            await #expect(throws: SessionManagerError(.sessionLocked, "")) { _ = try await blocked.existingSession() }
            #expect(blocked.saveFailure?.code == .sessionLocked, "the answer is replaced by a 503")
            _ = await blocked.finish()
            // Held past half of the expiration (renewals are looked at every 200 ms here).
            try await Task.sleep(for: .milliseconds(900))
            held.set("count", 2)
            #expect(await holder.finish() == .none)
            #expect(holder.saveFailure == nil, "the renewed lock was still ours: written")

            let counters = b.lockCounters
            #expect(counters.waits == 1 && counters.failures == 1 && counters.proceededUnlocked == 0 && counters.taken == 0)
            #expect(counters.waitMilliseconds == 0, "a wait that never got the lock is a failure, not wait time")
            #expect(a.lockCounters.renewals >= 1 && a.lockCounters.lost == 0)

            let next = Self.request(b, "/app/count", id)
            #expect(try await next.existingSession()?.get("count", as: Int.self) == 2, "the lock went with the write")
            _ = await next.finish()
            #expect(b.lockCounters.taken == 1)
        }
    }

    @Test(.enabled(if: StoreServerProcess.Kind.memcached().isRunnable))
    func autoCountsLearnedReadOnlyRequestIDs() async throws {
        try await Self.withTwoManagers(.memcached(), { $0.lockingMode = .auto }) { a, _ in
            let create = Self.request(a, "/app/count", nil)
            try await create.session().set("count", 1)
            guard case .set(let id) = await create.finish() else { Issue.record("a cookie"); return }
            #expect(a.lockCounters.readOnlyLearned == 0, "it changed its session: modifying")
            for query in ["x=1", "x=1", "x=2"] {
                let read = Self.request(a, "/app/read", id, query: Substring(query))
                #expect(read.locksSession == (query != "x=1" || a.lockCounters.readOnlyLearned == 0))
                _ = try await read.existingSession()
                _ = await read.finish()
            }
            #expect(a.lockCounters.readOnlyLearned == 2, "GET /app/read?x=1 and ?x=2")
            #expect(a.lockCounters.taken == 2, "the first request of each id locked")
        }
    }
}
