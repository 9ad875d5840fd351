import Foundation
import SessionTesting
import Testing

/// `maxSessionLifetime` with the sample as a user runs it, on real stores: a session used every
/// 500 ms is gone after its 3-second lifetime, sticky (served from memory) and not.
@Suite(.capturedLog, .serialized) struct SessionLifetimeProcessTests {
    static let kinds: [StoreServerProcess.Kind] = [.redis(), .memcached()]

    @Test(.enabled(if: kinds.allSatisfy(\.isRunnable)), arguments: kinds, [false, true])
    func aSessionUsedEvery500msIsGoneAfterItsLifetime(kind: StoreServerProcess.Kind, sticky: Bool) async throws {
        try await StoreServerProcess.with(kind) { server in
            let node = if case .redis = kind { "n1:redis://127.0.0.1:\(server.port)" } else { "n1:127.0.0.1:\(server.port)" }
            let port = try FreePort.make()
            let xml = """
                <Server>
                  <Connector port="\(port)" address="127.0.0.1"/>
                  <Engine jvmRoute="node1">
                    <Context path="/myapp" app="sample"><Manager memcachedNodes="\(node)" sticky="\(sticky)" maxSessionLifetime="3"/></Context>
                  </Engine>
                </Server>
                """
            let process = try await SampleExecutable("SessionSample").startServing(xml, port: port)
            defer { process.terminate() }
            var cookie: String?
            var counts: [Int] = []
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .milliseconds(4200) {
                let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: cookie.map { [("Cookie", $0)] } ?? [])
                counts.append(Int(response.fields["count"] ?? "") ?? -1)
                cookie = response.cookiePair ?? cookie
                try await Task.sleep(for: .milliseconds(500))
            }
            let restart = counts.indices.dropFirst().first { counts[$0] == 1 }
            #expect(restart.map { (5...7).contains($0) } == true, "\(kind), sticky=\(sticky): the count starts over after about 3 s: \(counts)")
            if case .redis = kind {
                // The sessions' keys (not the sticky route's lease).
                let ttls = try await server.redisTTLs(matching: "*}-n1*")
                #expect(!ttls.isEmpty)
                #expect(ttls.values.allSatisfy { (0...3).contains($0) }, "no copy outlives the lifetime: \(ttls)")
            }
        }
    }
}
