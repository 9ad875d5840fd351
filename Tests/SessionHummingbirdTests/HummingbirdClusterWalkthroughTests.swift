#if HummingbirdSupport
import Foundation
import SessionTesting
import Testing

/// `Samples/cluster/run-local.sh hummingbird-redis`: two Redis, two HummingbirdSample processes and
/// real nginx round-robin; a client that keeps its cookie counts through nginx while the store node
/// holding its session, then an app node, is SIGKILLed.
@Suite(.capturedLog, .serialized) struct HummingbirdClusterWalkthroughTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    static let script = root + "/Samples/cluster/run-local.sh"

    static var isRunnable: Bool {
        ProcessInfo.processInfo.environment["CI"] != nil
            || ["nginx", "redis-server"].allSatisfy { tool in
                ["/usr/sbin/", "/usr/bin/", "/sbin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + tool) }
            }
    }

    /// Runs run-local.sh with its ports moved by `offset`, in `directory`.
    static func runLocal(_ arguments: [String], offset: Int, directory: String) async throws -> (status: Int32, output: String) {
        try await ChildProcess.run(
            "/bin/bash",
            [script] + arguments,
            environment: ["PORT_OFFSET": String(offset), "RUN_DIR": directory, "HUMMINGBIRD_SAMPLE": try HummingbirdProcess.executable().path],
            directory: root
        )
    }

    @Test(.enabled(if: isRunnable))
    func theSessionSurvivesAStoreNodeAndAnAppNodeDying() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sm-hb-cluster-\(UUID().uuidString)").path
        var offset = 0
        var started = false
        var output = ""
        for _ in 0..<8 where !started {
            offset = Int.random(in: 1...400) * 50
            let result = try await Self.runLocal(["hummingbird-redis"], offset: offset, directory: directory)
            output = result.output
            started = result.status == 0
            if !started {
                _ = try? await Self.runLocal(["stop"], offset: offset, directory: directory)
                guard output.contains("already in use") else { break }
            }
        }
        try #require(started, "run-local.sh hummingbird-redis failed: \(output)")
        do {
            try await walkThrough(port: 8080 + offset) { arguments in _ = try await Self.runLocal(arguments, offset: offset, directory: directory) }
        } catch {
            _ = try? await Self.runLocal(["stop"], offset: offset, directory: directory)
            throw error
        }
        let (status, _) = try await Self.runLocal(["stop"], offset: offset, directory: directory)
        #expect(status == 0)
    }

    /// Counts through nginx on `port`; `runLocal` runs the script's kill commands.
    func walkThrough(port: Int, runLocal: ([String]) async throws -> Void) async throws {
        var cookie: String?
        var expected = 1
        func counts(_ n: Int) async throws -> (routes: Set<String>, store: String) {
            var routes: Set<String> = []
            var store = ""
            for _ in 0..<n {
                let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: cookie.map { [("Cookie", $0)] } ?? [])
                try #require(response.fields["count"] == "\(expected)", "status \(response.status): \(response.body)")
                expected += 1
                cookie = response.cookiePair ?? cookie
                routes.insert(response.fields["route"] ?? "")
                store = response.fields["store"] ?? ""
            }
            return (routes, store)
        }
        let first = try await counts(20)
        #expect(first.routes == ["node1", "node2"], "round-robin: both Hummingbird nodes serve the one session")
        try await runLocal(["kill", first.store])
        let second = try await counts(20)
        #expect(second.store != first.store, "the session moved off the dead store node")
        try await runLocal(["kill", "node1"])
        let third = try await counts(20)
        #expect(third.routes == ["node2"])
    }
}
#endif
