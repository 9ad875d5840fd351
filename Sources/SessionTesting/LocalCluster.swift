import Foundation
import Testing

/// A cluster started by `Samples/cluster/run-local.sh` (two stores, two sample processes, real
/// nginx), with its ports moved by ``offset`` and its own run directory: the README's cluster
/// walk-through, as the tests run it.
public struct LocalCluster: Sendable {
    /// The repository's root (this file is in `Sources/SessionTesting`).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    /// The script.
    public static let script = root + "/Samples/cluster/run-local.sh"

    public let offset: Int
    public let runDirectory: String
    /// The sample executables to use (`SESSION_SAMPLE`, `HUMMINGBIRD_SAMPLE`, `VAPOR_SAMPLE`).
    public let samples: [String: String]

    public init(offset: Int, runDirectory: String, samples: [String: String]) {
        self.offset = offset
        self.runDirectory = runDirectory
        self.samples = samples
    }

    /// nginx's port.
    public var nginxPort: Int { 8080 + offset }

    /// Whether `tools` are installed (in CI they must be: a missing one fails the test).
    public static func isRunnable(tools: [String]) -> Bool {
        ProcessInfo.processInfo.environment["CI"] != nil
            || tools.allSatisfy { tool in
                ["/usr/sbin/", "/usr/bin/", "/sbin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + tool) }
            }
    }

    /// Runs run-local.sh with `arguments`; its exit status and output.
    @discardableResult
    public func run(_ arguments: String...) async throws -> (status: Int32, output: String) {
        var environment = samples
        environment["PORT_OFFSET"] = String(offset)
        environment["RUN_DIR"] = runDirectory
        return try await ChildProcess.run("/bin/bash", [Self.script] + arguments, environment: environment, directory: Self.root)
    }

    /// The pids recorded in the run directory that are still alive.
    public func livePids() -> [Int32] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? []
        return files.filter { $0.hasSuffix(".pid") }.compactMap { file in
            (try? String(contentsOfFile: runDirectory + "/" + file, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }.filter { kill($0, 0) == 0 }
    }

    /// Starts `variant` on free ports (an offset at which all seven are free) with the sample
    /// executables `samples`, runs `body`, stops it.
    public static func with(_ variant: String, samples: [String: String], _ body: (LocalCluster) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sm-cluster-\(UUID().uuidString)").path
        var started: LocalCluster?
        var lastOutput = ""
        for _ in 0..<8 {
            let cluster = LocalCluster(offset: Int.random(in: 1...400) * 50, runDirectory: directory, samples: samples)
            let (status, output) = try await cluster.run(variant)
            lastOutput = output
            if status == 0 {
                started = cluster
                break
            }
            _ = try? await cluster.run("stop")
            guard output.contains("already in use") else { break }
        }
        let cluster = try #require(started, "run-local.sh \(variant) failed: \(lastOutput)")
        do {
            try await body(cluster)
        } catch {
            _ = try? await cluster.run("stop")
            throw error
        }
        let (status, _) = try await cluster.run("stop")
        #expect(status == 0)
        #expect(cluster.livePids().isEmpty, "stop leaves no process behind")
    }

    /// A browser: keeps its cookie, counts through nginx.
    public final class Client {
        /// A count that did not go on.
        public struct Failure: Error, CustomStringConvertible {
            public let description: String
        }

        public let port: Int
        public var cookie: String?
        public init(port: Int) { self.port = port }

        /// One `/myapp/count`; the count, the route that served it and the session's store node.
        public func count() async throws -> (count: Int, route: String, store: String) {
            let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: cookie.map { [("Cookie", $0)] } ?? [])
            guard response.status == 200, let count = response.fields["count"].flatMap({ Int($0) }) else {
                throw Failure(description: "/myapp/count through nginx answered \(response.status): \(response.body)")
            }
            if let pair = response.cookiePair { cookie = pair }
            return (count, response.fields["route"] ?? "", response.fields["store"] ?? "")
        }

        /// `n` requests that must continue the count exactly from `from`; the routes and store nodes seen.
        public func counts(_ n: Int, from: Int) async throws -> (routes: Set<String>, stores: [String]) {
            var routes: Set<String> = []
            var stores: [String] = []
            for expected in from..<(from + n) {
                let answer = try await count()
                #expect(answer.count == expected, "count \(answer.count), expected \(expected) (route \(answer.route), store \(answer.store))")
                if answer.count != expected { throw Failure(description: "the count broke") }
                routes.insert(answer.route)
                stores.append(answer.store)
            }
            return (routes, stores)
        }
    }
}
