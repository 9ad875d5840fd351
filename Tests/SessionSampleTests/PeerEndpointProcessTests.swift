import Foundation
import SessionTesting
import Testing

/// `<SessionPeer>` with a login and TLS, in real sample processes: two nodes keep each other's
/// copies over TLS with memcached's login, and a node whose endpoint's files cannot be used does
/// not start.
@Suite(.capturedLog, .enabled(if: TestCertificates.isRunnable, "needs openssl: Scripts/install-dependencies.sh test"))
struct PeerEndpointProcessTests {
    static func server(_ index: Int, http: Int, endpoints: [Int], certificates: TestCertificates, certificateFile: String? = nil) -> String {
        """
        <Server>
          <Connector port="\(http)" address="127.0.0.1"/>
          <Engine jvmRoute="node\(index)">
            <Context path="/myapp" app="sample">
              <Manager memcachedNodes="n1:memcacheds://127.0.0.1:\(endpoints[0]),n2:memcacheds://127.0.0.1:\(endpoints[1])" failoverNodes="n\(index)"
                       sticky="true" sessionBackupAsync="false" username="peers" password="s3cret" tlsCAFile="\(certificates.caFile)"/>
            </Context>
            <SessionPeer nodeId="n\(index)" port="\(endpoints[index - 1])" username="peers" password="s3cret"
                         certificateFile="\(certificateFile ?? certificates.serverCertificateFile)" keyFile="\(certificates.serverKeyFile)"/>
          </Engine>
        </Server>
        """
    }

    @Test func twoNodesKeepEachOthersCopiesOverTLSWithALogin() async throws {
        let certificates = try await TestCertificates.shared()
        let http = [try FreePort.make(), try FreePort.make()]
        let endpoints = [try FreePort.make(), try FreePort.make()]
        var nodes: [Process] = []
        defer { nodes.forEach { $0.terminate() } }
        for index in 1...2 {
            nodes.append(try await SampleProcessTests.startServing(Self.server(index, http: http[index - 1], endpoints: endpoints, certificates: certificates), port: http[index - 1]))
        }
        var cookie: String?
        func count(at port: Int) async throws -> (count: Int, store: String) {
            let response = try await RawHTTPClient.get(port: port, "/myapp/count", headers: cookie.map { [("Cookie", $0)] } ?? [])
            if let fresh = response.cookiePair { cookie = fresh }
            return (Int(response.fields["count"] ?? "") ?? -1, response.fields["store"] ?? "")
        }
        // Node 1's copy goes to node 2's endpoint once node 1 sees it up (within a second).
        var answer = try await count(at: http[0])
        var expected = 1
        #expect(answer.count == expected)
        while answer.store != "n2" && expected < 40 {
            try await Task.sleep(for: .milliseconds(100))
            expected += 1
            answer = try await count(at: http[0])
            #expect(answer.count == expected)
        }
        #expect(answer.store == "n2", "node 1's copy is on node 2")
        kill(nodes[0].processIdentifier, SIGKILL)
        // Node 2 takes the session over from the copy node 1 wrote to it over TLS.
        #expect(try await count(at: http[1]).count == expected + 1)
        // The endpoint speaks TLS only: a plaintext command gets no memcached answer.
        let fd = try RawSocket.connect(port: endpoints[1])
        defer { close(fd) }
        let probe = Array("version\r\n".utf8)
        _ = probe.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var reply = [UInt8](repeating: 0, count: 256)
        let n = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(!String(decoding: reply.prefix(max(0, n)), as: UTF8.self).hasPrefix("VERSION"))
    }

    @Test func anEndpointWhoseCertificateCannotBeUsedStopsTheServerAtStart() async throws {
        let certificates = try await TestCertificates.shared()
        let missing = certificates.folder + "/absent.pem"
        let path = try SampleExecutable.writeConfig(
            Self.server(1, http: try FreePort.make(), endpoints: [try FreePort.make(), try FreePort.make()], certificates: certificates, certificateFile: missing)
        )
        let (status, stderr) = try SampleProcessTests.run(["--config", path])
        #expect(status != 0)
        #expect(stderr.contains("certificateFile '\(missing)' cannot be loaded"), "\(stderr)")
    }
}
