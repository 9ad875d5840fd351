import SessionHTTP
import Testing

/// `<SessionPeer>`: this node's store endpoint for its peers (issue 32), and the configurations
/// that cannot work, refused at their line.
extension ServerXMLLoaderTests {
    static func peerServer(_ peer: String, nodes: String = "n1:127.0.0.1:11311,n2:10.0.0.2:11311") -> String {
        """
        <Server><Connector port="8080"/>
          <Engine jvmRoute="node1">
            <Context path="/myapp" app="sample"><Manager memcachedNodes="\(nodes)" failoverNodes="n1"/></Context>
            \(peer)
          </Engine>
        </Server>
        """
    }

    @Test func aSessionPeerIsRead() throws {
        let configuration = try parse(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" maxBytes="8388608"/>"#))
        #expect(configuration.peer == SessionPeerConfiguration(nodeID: "n1", port: 11311, maxBytes: 8_388_608))
        #expect(try parse(Self.peerServer("")).peer == nil)
    }

    @Test func aSessionPeerThatCannotWorkIsRefusedAtItsLine() {
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="8080"/>"#), line: 4, "is the <Connector>'s port 8080")
        expectError(Self.peerServer(#"<SessionPeer nodeId="n9" port="11311"/>"#), line: 4, "'n9' is no node of any context's memcachedNodes")
        expectError(
            Self.peerServer(#"<SessionPeer nodeId="n1" port="11311"/>"#, nodes: "n1:127.0.0.1:11311,n2:localhost:11311"),
            line: 4, "lists this endpoint twice (n1, n2)"
        )
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" address="0.0.0.0"/>"#), line: 4, "authentication and TLS")
        expectError(Self.peerServer(#"<SessionPeer port="11311"/>"#), line: 4, "needs nodeId")
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311"/><SessionPeer nodeId="n1" port="11312"/>"#), line: 4, "only one <SessionPeer>")
    }
}
