import Foundation
import Logging
import RedisSessionStore
import SessionManager
import SessionStores
import SessionTesting
import Testing

/// Several store nodes with ids, against real `redis-server` and `memcached` processes on loopback:
/// where copies go, what a read costs, and what happens when a node is killed.
@Suite(.capturedLog) struct ClusterNodesTests {
    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]
    /// A prefix with `-` and `.` (msm #350: routing must not re-parse keys): `host,context` for
    /// host `www.example.com` and context `/my-app`.
    static let prefix = "www.example.com:/my-app_"

    struct Cluster {
        let manager: SessionManager
        let servers: [StoreServerProcess]
        let stores: [CountingSessionStore]

        func index(of id: SessionID) -> Int { id.nodeID == "n1" ? 0 : 1 }

        /// One request: `body` runs with the request's sessions.
        func request(_ id: SessionID?, _ body: (RequestSessions) async throws -> Void = { _ in }) async throws -> (SessionCookieAction, SessionManagerError?) {
            let sessions = manager.beginRequest(path: "/my-app/x", requestedID: id)
            try await body(sessions)
            let action = await sessions.finish()
            return (action, sessions.saveFailure)
        }

        /// A request that increments the session's counter; returns the count, the cookie action
        /// and the save failure.
        func increment(_ id: SessionID?) async throws -> (Int, SessionCookieAction, SessionManagerError?) {
            var count = 0
            let (action, failure) = try await request(id) { sessions in
                count = try await sessions.session().update("count", default: 0) { (n: inout Int) in
                    n += 1
                    return n
                }
            }
            return (count, action, failure)
        }

        /// Whether store `index` holds `key` (read on the store itself, not counted).
        func holds(_ index: Int, _ key: String) async throws -> Bool {
            try await stores[index].base.getAndTouch(key, ttl: .seconds(60)) != nil
        }

        /// Waits until `condition` holds, for at most `seconds`.
        func eventually(seconds: Int = 5, _ condition: () async throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                if try await condition() { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return try await condition()
        }

        func isUp(_ index: Int) -> Bool { manager.nodeAvailability[index].isUp }

        /// New-session requests until one is saved (the first ones may find dead nodes, answer
        /// 503 and mark them down); the saved session's id, if any within `tries`.
        func firstSavedSession(tries: Int = 3) async throws -> SessionID? {
            for _ in 0..<tries {
                if case (_, .set(let id), nil) = try await increment(nil) { return id }
            }
            return nil
        }

        /// A new session with count 1, whose backup is written: its id and its primary's index.
        func savedSessionWithBackup() async throws -> (SessionID, primary: Int)? {
            guard case (1, .set(let id), nil) = try await increment(nil) else { return nil }
            let primary = index(of: id)
            guard try await eventually({ try await holds(1 - primary, "bak:" + id.storeKey(prefix: ClusterNodesTests.prefix)) }) else { return nil }
            return (id, primary)
        }
    }

    static func nodeEntry(_ kind: StoreServerProcess.Kind, _ id: String, _ port: Int, tls: Bool = false) -> String {
        if case .redis = kind { return "\(id):\(tls ? "rediss" : "redis")://127.0.0.1:\(port)" }
        return tls ? "\(id):memcacheds://127.0.0.1:\(port)" : "\(id):127.0.0.1:\(port)"
    }

    func withCluster(
        _ kind: StoreServerProcess.Kind,
        tls: Bool = false,
        failoverNodes: String = "",
        logger: Logger = Logger(label: "test"),
        configure: (inout ManagerConfiguration) -> Void = { _ in },
        _ body: (Cluster) async throws -> Void
    ) async throws {
        let serverTLS = tls ? StoreServerProcess.TLS(certificates: try await TestCertificates.shared()) : nil
        try await StoreServerProcess.with(kind, tls: serverTLS) { a in
            try await StoreServerProcess.with(kind, tls: serverTLS) { b in
                var configuration = ManagerConfiguration(storageKeyPrefix: Self.prefix)
                configuration.memcachedNodes = try StoreNode.parseList(
                    "\(Self.nodeEntry(kind, "n1", a.port, tls: tls)), \(Self.nodeEntry(kind, "n2", b.port, tls: tls))"
                )
                if let serverTLS { configuration.tls = StoreTLS(caFile: serverTLS.certificates.caFile) }
                configuration.failoverNodes = try StoreNode.parseFailoverList(failoverNodes, nodes: configuration.memcachedNodes)
                configuration.operationTimeout = .milliseconds(300)
                configuration.sticky = false  // non-sticky: the store holds the primary copy
                configure(&configuration)
                let counted = try SessionStores.makeNodes(for: configuration, logger: logger).map {
                    SessionStoreNode(id: $0.id, store: CountingSessionStore($0.store), isFailover: $0.isFailover)
                }
                let manager = SessionManager(configuration: configuration, nodes: counted, logger: logger)
                let running = Task { try await manager.run() }
                defer { running.cancel() }
                try await body(Cluster(manager: manager, servers: [a, b], stores: counted.map { $0.store as! CountingSessionStore }))
            }
        }
    }

    /// Also over TLS (`rediss://`, `memcacheds://`): the same copies, the same one command per read.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable) && TestCertificates.isRunnable), arguments: kinds, [false, true])
    func theSessionIsOnItsNodeTheBackupOnTheOtherAndAReadIsOneCommand(kind: StoreServerProcess.Kind, tls: Bool) async throws {
        try await withCluster(kind, tls: tls) { cluster in
            let (count, action, _) = try await cluster.increment(nil)
            guard case .set(let id) = action, count == 1 else { Issue.record("no new session: \(action)"); return }
            let primary = cluster.index(of: id), other = 1 - primary
            #expect(id.nodeID == ["n1", "n2"][primary])
            let key = id.storeKey(prefix: Self.prefix)
            #expect(try await cluster.eventually { try await cluster.holds(other, "bak:" + key) }, "the backup is on the other node")
            #expect(try await cluster.holds(primary, key))
            #expect(try await !cluster.holds(other, key))
            #expect(try await !cluster.holds(primary, "bak:" + key))

            cluster.stores.forEach { $0.reset() }
            var read: Int?
            let (readAction, _) = try await cluster.request(id) { read = try await $0.existingSession()?.get("count", as: Int.self) }
            #expect(read == 1 && readAction == SessionCookieAction.none)
            #expect(cluster.stores[primary].counts.getAndTouch == 1 && cluster.stores[primary].counts.total == 1)
            #expect(cluster.stores[other].counts.total == 0)
            let states = cluster.manager.nodeAvailability
            #expect(states[primary].writes == 1 && states[primary].backupWrites == 0 && states[primary].loads == 1, "\(states)")
            #expect(states[other].writes == 0 && states[other].backupWrites == 1 && states[other].loads == 0, "\(states)")
        }
    }

    /// Also over TLS: a SIGKILLed TLS node's sessions relocate as with plaintext, and the node is
    /// seen again (a TLS handshake) once it is back.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable) && TestCertificates.isRunnable), arguments: kinds, [false, true])
    func whenTheNodeOfASessionIsKilledTheSessionMovesToTheOtherNode(kind: StoreServerProcess.Kind, tls: Bool) async throws {
        try await withCluster(kind, tls: tls) { cluster in
            guard let (id, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session with a backup"); return }
            let other = 1 - primary

            cluster.servers[primary].kill()
            let (count, moved, failure) = try await cluster.increment(id)
            #expect(failure == nil && count == 2, "attributes intact")
            guard case .set(let newID) = moved else { Issue.record("no new cookie: \(moved)"); return }
            #expect(newID.random == id.random && newID.nodeID == ["n1", "n2"][other])
            #expect(cluster.manager.relocationCount == 1)
            let (count3, same, _) = try await cluster.increment(newID)
            #expect(count3 == 3 && same == SessionCookieAction.none)
            // The old cookie, sent again while its node is down, is not served the old backup (it
            // was deleted with the move): the client gets a new session, not yesterday's copy.
            let (staleCount, stale, _) = try await cluster.increment(id)
            guard case .set(let other) = stale else { Issue.record("the old id must not be served"); return }
            #expect(staleCount == 1 && other.random != id.random)

            // The node comes back: nothing moves back, and new sessions use both nodes again.
            try await cluster.servers[primary].restart()
            #expect(try await cluster.eventually { cluster.isUp(primary) }, "the probe notices the node")
            var newNodes = Set<String>()
            for _ in 0..<30 {
                if case (_, .set(let fresh), nil) = try await cluster.increment(nil), let node = fresh.nodeID { newNodes.insert(node) }
            }
            #expect(newNodes == ["n1", "n2"])
            let (count4, after, _) = try await cluster.increment(newID)
            #expect(count4 == 4 && after == SessionCookieAction.none)
        }
    }

    /// A second app node over the same store servers that runs no background work: it sees the
    /// nodes only through its own requests (its view of a node that restarted stays "down" until
    /// a request of its own asks that node).
    static func secondAppNode(of cluster: Cluster) throws -> Cluster {
        let logger = Logger(label: "test")
        let nodes = try SessionStores.makeNodes(for: cluster.manager.configuration, logger: logger).map {
            SessionStoreNode(id: $0.id, store: CountingSessionStore($0.store), isFailover: $0.isFailover)
        }
        let manager = SessionManager(configuration: cluster.manager.configuration, nodes: nodes, logger: logger)
        return Cluster(manager: manager, servers: cluster.servers, stores: nodes.map { $0.store as! CountingSessionStore })
    }

    /// The window of a rare `503` of the soak test (non-sticky, two app nodes, store nodes killed
    /// and restarted in turn): app node B still held store node n1 for down (it had not asked it
    /// since it restarted) when n2 died, while app node A had already written the session's backup
    /// on n1. B answered 503 although a live copy existed. Now a node that finds no other node up
    /// asks the down ones before it gives up: the request is served from the backup (read path),
    /// and a write whose node died under it moves to the node that is back (write path).
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds, ["read", "locked read", "write"])
    func aNodeNotYetSeenBackServesWhenTheOtherDies(kind: StoreServerProcess.Kind, path: String) async throws {
        try await withCluster(kind, configure: { if path == "locked read" { $0.lockingMode = .all } }) { a in
            let b = try Self.secondAppNode(of: a)
            var found: SessionID?
            for _ in 0..<20 where found == nil {
                if let (id, primary) = try await a.savedSessionWithBackup(), primary == 1 { found = id }
            }
            let id = try #require(found, "a session on n2 with its backup on n1")
            let backupKey = "bak:" + id.storeKey(prefix: Self.prefix)

            a.servers[0].kill()
            // B finds n1 dead (its backup write fails) and holds it for down from then on.
            let (two, _, failure2) = try await b.increment(id)
            #expect(two == 2 && failure2 == nil)
            #expect(try await b.eventually { !b.isUp(0) })
            try await a.servers[0].restart()
            // A sees n1 back (its probe) and writes the session again: the backup is on n1.
            #expect(try await a.eventually { a.isUp(0) })
            let (three, _, failure3) = try await a.increment(id)
            #expect(three == 3 && failure3 == nil)
            #expect(try await a.eventually { try await a.holds(0, backupKey) })
            #expect(!b.isUp(0), "B has not asked n1 since it restarted")

            var count = 0
            let (moved, failure) = try await b.request(id) { sessions in
                if path == "write" {
                    // B reads the session on n2, and n2 dies before B writes it.
                    _ = try await sessions.existingSession()
                    a.servers[1].kill()
                } else {
                    a.servers[1].kill()
                }
                count = try await sessions.session().update("count", default: 0) { (n: inout Int) in
                    n += 1
                    return n
                }
            }
            #expect(failure == nil, "served, not 503: \(String(describing: failure))")
            #expect(count == 4, "the session from the copy on n1, not a new one")
            guard case .set(let relocated) = moved else { Issue.record("a new cookie: \(moved)"); return }
            #expect(relocated.nodeID == "n1" && relocated.random == id.random)
            #expect(b.isUp(0), "B asked n1 and found it back")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func withEveryNodeDownNewSessionsLiveInMemoryAndGetANodeWhenOneIsBack(kind: StoreServerProcess.Kind) async throws {
        try await withCluster(kind) { cluster in
            cluster.servers.forEach { $0.kill() }
            // The first writes find the nodes dead (and answer 503); then sessions get no node part.
            guard let memoryID = try await cluster.firstSavedSession() else { Issue.record("no session while every node is down"); return }
            #expect(memoryID.nodeID == nil)
            #expect(cluster.manager.storeFailedRequestCount >= 1, "the 503s of the first writes are counted")
            let (count, action, failure) = try await cluster.increment(memoryID)
            #expect(count == 2 && action == SessionCookieAction.none && failure == nil, "kept in memory")

            try await cluster.servers[0].restart()
            #expect(try await cluster.eventually { cluster.isUp(0) })
            let (count3, placed, _) = try await cluster.increment(memoryID)
            #expect(count3 == 3)
            guard case .set(let withNode) = placed else { Issue.record("no cookie with a node: \(placed)"); return }
            #expect(withNode.random == memoryID.random && withNode.nodeID == "n1")
            #expect(try await cluster.holds(0, withNode.storeKey(prefix: Self.prefix)))
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func failoverNodesTakeNewSessionsOnlyWhileNoOtherNodeIsUp(kind: StoreServerProcess.Kind) async throws {
        try await withCluster(kind, failoverNodes: "n1") { cluster in
            for _ in 0..<10 {
                let (_, action, _) = try await cluster.increment(nil)
                guard case .set(let id) = action else { Issue.record("no session"); return }
                #expect(id.nodeID == "n2")
            }
            cluster.servers[1].kill()
            #expect(try await cluster.firstSavedSession()?.nodeID == "n1")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func changeSessionIdMovesBothCopiesAndInvalidateDeletesBoth(kind: StoreServerProcess.Kind) async throws {
        try await withCluster(kind) { cluster in
            guard let (id, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session with a backup"); return }
            let other = 1 - primary
            let old = id.storeKey(prefix: Self.prefix)

            let (changed, _) = try await cluster.request(id) { _ = try await $0.session().changeSessionId() }
            guard case .set(let newID) = changed else { Issue.record("no new cookie"); return }
            let new = newID.storeKey(prefix: Self.prefix)
            #expect(newID.nodeID == id.nodeID && newID.random != id.random)
            #expect(try await cluster.holds(primary, new))
            #expect(try await cluster.eventually { try await cluster.holds(other, "bak:" + new) })
            #expect(try await !cluster.holds(primary, old))
            #expect(try await !cluster.holds(other, "bak:" + old))

            let (ended, _) = try await cluster.request(newID) { try await $0.existingSession()?.invalidate() }
            #expect(ended == .expire)
            #expect(try await !cluster.holds(primary, new))
            #expect(try await !cluster.holds(other, "bak:" + new))
        }
    }

    /// Found by the soak test (`Benchmarks/soak.sh`): a request whose session's node died between
    /// its read and its write answered 503 (the change was not saved). The session now moves to
    /// the other node within the same request, as a read would move it: the change is saved there
    /// under a new cookie, and nothing is lost.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aNodeDyingBetweenReadAndWriteMovesTheSessionAndSavesTheChange(kind: StoreServerProcess.Kind) async throws {
        try await withCluster(kind) { cluster in
            guard let (id, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session with a backup"); return }
            let (action, failure) = try await cluster.request(id) { sessions in
                let session = try #require(try await sessions.existingSession())
                cluster.servers[primary].kill()
                session.update("count", default: 0) { (n: inout Int) in n += 1 }
            }
            #expect(failure == nil, "the change is saved on the other node")
            guard case .set(let moved) = action else { Issue.record("no new cookie: \(action)"); return }
            #expect(moved.random == id.random && moved.nodeID == ["n1", "n2"][1 - primary])
            #expect(!cluster.isUp(primary))
            var count: Int?
            _ = try await cluster.request(moved) { count = try await $0.existingSession()?.get("count", as: Int.self) }
            #expect(count == 2)
            #expect(cluster.manager.relocationCount == 0, "a write's move is not a read's relocation")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aSessionOnlyReadForLongerThanItsTimeoutStillHasABackup(kind: StoreServerProcess.Kind) async throws {
        try await withCluster(kind, configure: { $0.maxInactiveInterval = 3 }) { cluster in
            guard let (id, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session with a backup"); return }
            for _ in 0..<8 {
                try await Task.sleep(for: .seconds(1))
                var count: Int?
                _ = try await cluster.request(id) { count = try await $0.existingSession()?.get("count", as: Int.self) }
                #expect(count == 1)
            }
            cluster.servers[primary].kill()
            let (count, moved, _) = try await cluster.increment(id)
            #expect(count == 2, "the backup was alive 8 s after the last change, with a 3 s timeout")
            guard case .set(let newID) = moved else { Issue.record("not relocated: \(moved)"); return }
            #expect(newID.random == id.random)
        }
    }

    /// A node that answers "no" to one command is alive: the request whose write it refused gets
    /// a save failure (503), but the node is not marked down, no outage is logged, and it keeps
    /// serving its sessions. Redis refuses writes at its `maxmemory` (OOM), memcached refuses an
    /// item over its size limit.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: [StoreServerProcess.Kind.redis(), .memcached(itemSizeLimit: 1024)])
    func aRefusedWriteFailsTheRequestButLeavesTheNodeUp(kind: StoreServerProcess.Kind) async throws {
        let capture = LogCapture()
        try await withCluster(kind, logger: capture.logger(level: .info)) { cluster in
            guard let (id, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session"); return }
            var value: String?
            if case .redis = kind {
                // Every write on the primary is refused from now on; reads still work.
                let store = try #require(cluster.stores[primary].base as? RedisSessionStore)
                _ = try await store.command([Array("CONFIG".utf8), Array("SET".utf8), Array("maxmemory".utf8), Array("1".utf8)])
            } else {
                value = String(repeating: "x", count: 4096)  // over memcached's 1 KiB item limit
            }
            let (_, failure) = try await cluster.request(id) { sessions in
                let session = try await sessions.session()
                session.update("count", default: 0) { (n: inout Int) in n += 1 }
                if let value { session.set("big", value) }
            }
            #expect(failure != nil, "the client must not be told that an unsaved change happened")
            let states = cluster.manager.nodeAvailability
            #expect(states[primary].isUp && states[primary].transitionCount == 0, "\(states)")
            #expect(states[primary].refusedCommands >= 1, "\(states)")
            #expect(capture.records(.warning, containing: "unavailable").isEmpty, "\(capture.all.map(\.message))")
            // The node still serves its sessions: Redis the copy from before the refused write;
            // memcached drops an item when it refuses a larger value for it (its own rule, on both
            // copies here), so the client gets a new session there, with no error.
            var count: Int?
            let (_, readFailure) = try await cluster.request(id) { count = try await $0.existingSession()?.get("count", as: Int.self) }
            #expect(readFailure == nil)
            if case .redis = kind {
                #expect(count == 1)
                #expect(cluster.manager.nodeAvailability[primary].loads >= 1)
            } else {
                #expect(count == nil)
            }
            #expect(cluster.manager.nodeAvailability.allSatisfy { $0.isUp && $0.transitionCount == 0 })
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aCorruptCopyGivesANewSessionAndIsDeleted(kind: StoreServerProcess.Kind) async throws {
        let capture = LogCapture()
        try await withCluster(kind, logger: capture.logger(level: .info)) { cluster in
            let garbage = Array("not a session".utf8)
            // On the primary.
            guard let (first, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session"); return }
            let key = first.storeKey(prefix: Self.prefix)
            try await cluster.stores[primary].base.set(key, value: garbage, ttl: .seconds(60))
            let (count, action, _) = try await cluster.increment(first)
            guard case .set(let fresh) = action else { Issue.record("no new session: \(action)"); return }
            #expect(count == 1 && fresh.random != first.random)
            #expect(try await !cluster.holds(primary, key))
            // On the backup, found after the primary's node lost its copy.
            guard let (second, primary2) = try await cluster.savedSessionWithBackup() else { Issue.record("no session"); return }
            let key2 = second.storeKey(prefix: Self.prefix)
            try await cluster.stores[primary2].base.delete(key2)
            try await cluster.stores[1 - primary2].base.set("bak:" + key2, value: garbage, ttl: .seconds(60))
            let (count2, action2, _) = try await cluster.increment(second)
            guard case .set(let fresh2) = action2 else { Issue.record("no new session: \(action2)"); return }
            #expect(count2 == 1 && fresh2.random != second.random)
            #expect(try await !cluster.holds(1 - primary2, "bak:" + key2))
            #expect(capture.records(.warning, containing: "unreadable").count == 2, "one warning per corrupt copy")
        }
    }

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func aCopyLostByALiveNodeIsRestoredFromTheBackupUnlessItMayHaveExpired(kind: StoreServerProcess.Kind) async throws {
        try await withCluster(kind) { cluster in
            // The node answers but lost the copy (a memcached restarted empty): the backup serves.
            guard let (id, primary) = try await cluster.savedSessionWithBackup() else { Issue.record("no session"); return }
            let key = id.storeKey(prefix: Self.prefix)
            try await cluster.stores[primary].base.delete(key)
            let (count, action, _) = try await cluster.increment(id)
            #expect(count == 2 && action == SessionCookieAction.none, "restored, same id")
            #expect(try await cluster.holds(primary, key), "written back")

            // A backup written longer ago than the session's timeout may belong to an expired
            // session: it is not restored.
            guard let (old, primary2) = try await cluster.savedSessionWithBackup() else { Issue.record("no session"); return }
            let oldKey = old.storeKey(prefix: Self.prefix)
            let stale = SessionSnapshot(
                id: old.description,
                creationTime: Date(timeIntervalSinceNow: -7200),
                lastAccessedTime: Date(timeIntervalSinceNow: -1900),
                maxInactiveInterval: 1800,
                attributes: ["count": .int(41)]
            )
            try await cluster.stores[primary2].base.delete(oldKey)
            try await cluster.stores[1 - primary2].base.set("bak:" + oldKey, value: try BinarySessionTranscoder().encode(stale), ttl: .seconds(60))
            let (count2, action2, _) = try await cluster.increment(old)
            guard case .set(let fresh) = action2 else { Issue.record("an expired session came back: \(action2)"); return }
            #expect(count2 == 1 && fresh.random != old.random)
        }
    }

    /// Two app processes (two nodes of the sample) on the same two store nodes, requests
    /// alternating between them: the count never skips, before and after the session's store
    /// node is killed.
    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds)
    func twoAppProcessesKeepCountingAcrossTheKillOfAStoreNode(kind: StoreServerProcess.Kind) async throws {
        try await StoreServerProcess.with(kind) { n1 in
            try await StoreServerProcess.with(kind) { n2 in
                let nodes = "\(Self.nodeEntry(kind, "n1", n1.port)),\(Self.nodeEntry(kind, "n2", n2.port))"
                let ports = [try FreePort.make(), try FreePort.make()]
                var apps: [Process] = []
                defer { apps.forEach { $0.terminate() } }
                for (index, port) in ports.enumerated() {
                    apps.append(
                        try await SampleProcessTests.startServing(
                            """
                            <Server>
                              <Connector port="\(port)" address="127.0.0.1"/>
                              <Engine jvmRoute="node\(index + 1)">
                                <Context path="/myapp" app="sample"><Manager memcachedNodes="\(nodes)" sticky="false" operationTimeout="300"/></Context>
                              </Engine>
                            </Server>
                            """,
                            port: port
                        )
                    )
                }
                var cookie: String?
                var ids: [String] = []
                func count(_ request: Int) async throws -> String? {
                    let response = try await RawHTTPClient.get(port: ports[request % 2], "/myapp/count", headers: cookie.map { [("Cookie", $0)] } ?? [])
                    if let fresh = response.cookiePair { cookie = fresh }
                    ids.append(response.fields["id"] ?? "")
                    return response.fields["count"]
                }
                for request in 1...6 {
                    #expect(try await count(request) == "\(request)")
                }
                // Between requests, the store node of the session dies.
                try await Task.sleep(for: .milliseconds(200))
                let nodeID = try #require(SessionID(parsing: String(ids.last?.split(separator: ".").first ?? ""))?.nodeID)
                (nodeID == "n1" ? n1 : n2).kill()
                for request in 7...12 {
                    #expect(try await count(request) == "\(request)", "no gap after the kill")
                }
                #expect(Set(ids.map { $0.prefix(32) }).count == 1, "one session throughout")
            }
        }
    }
}
