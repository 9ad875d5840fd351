import Foundation
import SessionTesting
import Synchronization
import Testing

/// The README's cluster walk-through, end to end: `Samples/cluster/run-local.sh` starts two stores,
/// two sample processes and real nginx; a client that keeps its cookie counts through nginx while
/// the store node holding its session and then the app node serving it are SIGKILLed.
@Suite(.capturedLog, .serialized) struct ClusterWalkthroughTests {
    /// Whether the tools are there (in CI they must be: a missing one fails the test).
    static var isRunnable: Bool { LocalCluster.isRunnable(tools: ["nginx", "memcached", "redis-server"]) }

    /// Runs `executable` in the repository's root (see ``ChildProcess/run(_:_:environment:directory:)``).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        try await ChildProcess.run(executable, arguments, environment: environment, directory: root)
    }

    typealias Cluster = LocalCluster
    typealias Client = LocalCluster.Client

    /// Starts `variant` with the bundled server's sample (see ``LocalCluster/with(_:samples:_:)``).
    static func withCluster(_ variant: String, _ body: (Cluster) async throws -> Void) async throws {
        try await LocalCluster.with(variant, samples: ["SESSION_SAMPLE": try SampleProcessTests.executable().path], body)
    }

    @Test(.enabled(if: isRunnable), arguments: ["nonsticky-memcached", "sticky-memcached", "nonsticky-redis", "nonsticky-redis-tls"])
    func theSessionSurvivesAStoreNodeAndAnAppNodeDying(variant: String) async throws {
        let sticky = variant.hasPrefix("sticky")
        try await Self.withCluster(variant) { cluster in
            let client = Client(port: cluster.nginxPort)
            let first = try await client.counts(50, from: 1)
            #expect(first.routes.count == (sticky ? 1 : 2), "\(variant): routes \(first.routes)")

            // The store node that holds the session dies.
            let store = try #require(first.stores.last)
            try await cluster.run("kill", store)
            let second = try await client.counts(50, from: 51)
            #expect(second.stores.last != store, "\(variant): the session moved off the dead store node \(store)")

            try await cluster.run("revive", store)
            _ = try await client.counts(50, from: 101)

            // The app node that served the last request dies.
            let served = try await client.count()
            #expect(served.count == 151)
            try await cluster.run("kill", served.route)
            let fourth = try await client.counts(50, from: 152)
            #expect(fourth.routes == [served.route == "node1" ? "node2" : "node1"], "\(variant): the other app node serves")
        }
    }

    /// What the clients of a rolling restart saw.
    struct RollingTally: Sendable {
        var answered = 0
        var lost = 0
        /// Counts that jumped ahead: a request applied twice (a balancer's retry after the
        /// answer was lost), which is not a lost update.
        var repeated = 0
        var serverErrors = 0
        var serverErrorSamples: [String] = []
        var otherFailures: [String] = []
    }

    /// The state the clients of a rolling restart share.
    final class RollingClients: Sendable {
        let running = Atomic(true)
        let tally = Mutex(RollingTally())
    }

    /// Deploying a new version: both app nodes are restarted one after the other with SIGTERM
    /// (each back and answering before the next goes down), while 20 clients keep counting through
    /// nginx, each on its own session. No increment may be lost and no answer may be a 5xx: sticky
    /// with the default `sessionBackupAsync="true"` (the node drains before it stops accepting, see
    /// ServerDrain) and non-sticky with locking.
    @Test(.enabled(if: isRunnable), arguments: ["sticky-memcached", "nonsticky-locking-redis"])
    func aRollingRestartLosesNoIncrementAndAnswersNo5xx(variant: String) async throws {
        try await Self.withCluster(variant) { cluster in
            let shared = RollingClients()
            let port = cluster.nginxPort
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        var cookie: String?
                        var expected = 1
                        while shared.running.load(ordering: .relaxed) {
                            let response: RawHTTPClient.Response
                            do {
                                response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: cookie.map { [("Cookie", $0)] } ?? [])
                            } catch {
                                shared.tally.withLock { $0.otherFailures.append("\(error)") }
                                continue
                            }
                            guard response.status == 200, let count = response.fields["count"].flatMap({ Int($0) }) else {
                                shared.tally.withLock {
                                    if response.status >= 500 {
                                        $0.serverErrors += 1
                                        if $0.serverErrorSamples.count < 5 { $0.serverErrorSamples.append("\(response.status) \(response.body.prefix(200))") }
                                    } else {
                                        $0.otherFailures.append("\(response.status)")
                                    }
                                }
                                continue
                            }
                            if let pair = response.cookiePair { cookie = pair }
                            shared.tally.withLock {
                                $0.answered += 1
                                if count < expected { $0.lost += expected - count }
                                if count > expected { $0.repeated += 1 }
                            }
                            expected = count + 1
                        }
                    }
                }
                try await Task.sleep(for: .seconds(1))
                for node in ["node1", "node2"] {
                    let (status, output) = try await cluster.run("restart", node)
                    #expect(status == 0, "\(output)")
                    // Back and answering (restart waits for its port); a moment of traffic on
                    // both nodes before the other one goes.
                    try await Task.sleep(for: .seconds(2))
                }
                shared.running.store(false, ordering: .relaxed)
                try await group.waitForAll()
            }
            let result = shared.tally.withLock { $0 }
            #expect(result.answered > 200, "the clients kept counting: \(result.answered)")
            #expect(result.lost == 0, "\(variant): \(result.lost) increments lost of \(result.answered) (\(result.repeated) repeated)")
            #expect(result.serverErrors == 0, "\(variant): \(result.serverErrors) answers 5xx: \(result.serverErrorSamples)")
            #expect(result.otherFailures.isEmpty, "\(variant): \(result.otherFailures.prefix(5))")
        }
    }

    @Test(.enabled(if: isRunnable))
    func runLocalAlternatesRoutesOnOneSessionAndRefusesATakenPort() async throws {
        try await Self.withCluster("nonsticky-memcached") { cluster in
            let client = Client(port: cluster.nginxPort)
            let answers = try await client.counts(6, from: 1)
            #expect(answers.routes == ["node1", "node2"], "round-robin over both nodes, one session")
            let (status, output) = try await cluster.run("status")
            #expect(status == 0 && output.contains("node1") && output.contains("pid"))
            // A second cluster on the same ports is refused, with the port named.
            let other = Cluster(offset: cluster.offset, runDirectory: cluster.runDirectory + "-other", samples: cluster.samples)
            let refused = try await other.run("nonsticky-memcached")
            #expect(refused.status != 0 && refused.output.contains("already in use"), "\(refused.output)")
        }
    }

    static let root = LocalCluster.root

    /// No store server (`<SessionPeer>`, sessionBackupAsync="false"): the node serving the user
    /// is SIGKILLed, the count goes on at another node with no gap; it is started again, and
    /// once its peers wrote again the copies it held (their next upkeep, within a second), the
    /// node now serving is killed; and so on until each node died once (two nodes: the first
    /// dies twice). Nothing is lost.
    @Test(.enabled(if: LocalCluster.isRunnable(tools: ["nginx"])), arguments: ["sticky-peers", "sticky-peers3"])
    func aPeerClusterLosesNothingWhenItsNodesDieOneAfterAnother(variant: String) async throws {
        try await Self.withCluster(variant) { cluster in
            let client = Client(port: cluster.nginxPort)
            var next = 1
            var killed: [String] = []
            for _ in 0..<3 {
                // A node sees a peer up within a second of its start; until then a new session's
                // copy may be on the node's own endpoint, and it moves at its next request.
                var served = try await client.count()
                for _ in 0..<40 where served.store == "n" + served.route.dropFirst("node".count) {
                    #expect(served.count == next)
                    next += 1
                    try await Task.sleep(for: .milliseconds(100))
                    served = try await client.count()
                }
                #expect(served.count == next, "\(variant): count \(served.count) after killing \(killed)")
                next += 1
                #expect(served.store != "n" + served.route.dropFirst("node".count), "\(variant): the copy is on another node than \(served.route)")
                try await cluster.run("kill", served.route)
                killed.append(served.route)
                let after = try await client.counts(5, from: next)
                next += 5
                #expect(!after.routes.contains(served.route), "\(variant): another node serves")
                try await cluster.run("revive", served.route)
                try await Task.sleep(for: .seconds(2))
            }
            #expect(Set(killed).count == (variant == "sticky-peers3" ? 3 : 2), "\(variant): killed \(killed)")
        }
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["CI"] != nil || FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-compose")))
    func dockerComposeFileIsValidForEveryVariant() async throws {
        for (variant, nginx) in [("nonsticky-memcached", "roundrobin"), ("sticky-memcached", "sticky"), ("nonsticky-redis", "roundrobin")] {
            let (status, text) = try await Self.run(
                "/usr/bin/docker-compose",
                ["-f", Self.root + "/docker-compose.yml", "config"],
                environment: ["VARIANT": variant, "NGINX": nginx]
            )
            #expect(status == 0, "\(text)")
            for service in ["memcached1:", "memcached2:", "redis1:", "redis2:", "node1:", "node2:", "nginx:"] {
                #expect(text.contains(service), "\(service) in \(variant)")
            }
            #expect(text.contains("/app/cluster/\(variant)/node2.xml"))
            #expect(text.contains("nginx-\(nginx).conf"))
            // The files the compose file names exist in the repository.
            for file in ["Samples/cluster/\(variant)/node1.xml", "Samples/cluster/\(variant)/node2.xml", "Samples/cluster/nginx-\(nginx).conf", "Dockerfile"] {
                #expect(FileManager.default.fileExists(atPath: Self.root + "/" + file), "\(file)")
            }
        }
    }
}
