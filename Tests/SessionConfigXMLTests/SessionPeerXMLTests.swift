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
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" address="0.0.0.0"/>"#), line: 4, "which others can reach")
        expectError(Self.peerServer(#"<SessionPeer port="11311"/>"#), line: 4, "needs nodeId")
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311"/><SessionPeer nodeId="n1" port="11312"/>"#), line: 4, "only one <SessionPeer>")
    }
}

extension ServerXMLLoaderTests {
    @Test func aSessionPeerOnASharedNetworkHasALoginAndTLS() throws {
        let secured = #"<SessionPeer nodeId="n1" port="11311" address="0.0.0.0" username="peers" password="s3cret" certificateFile="/etc/sm/peer.pem" keyFile="/etc/sm/peer.key"/>"#
        let configuration = try parse(Self.peerServer(secured, nodes: "n1:memcacheds://10.0.0.1:11311,n2:memcacheds://10.0.0.2:11311"))
        #expect(configuration.peer == SessionPeerConfiguration(
            nodeID: "n1", port: 11311, address: "0.0.0.0", username: "peers", password: "s3cret",
            certificateFile: "/etc/sm/peer.pem", keyFile: "/etc/sm/peer.key"
        ))
        let tlsNodes = "n1:memcacheds://10.0.0.1:11311,n2:memcacheds://10.0.0.2:11311"
        expectError(
            Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" address="0.0.0.0" certificateFile="/p.pem" keyFile="/p.key"/>"#, nodes: tlsNodes),
            line: 4, "needs username and password (its peers log in)"
        )
        expectError(
            Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" address="10.0.0.1" username="peers" password="s3cret"/>"#),
            line: 4, "and certificateFile and keyFile (TLS), or a loopback address"
        )
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" username="peers"/>"#), line: 4, "needs both username and password")
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" keyFile="/p.key"/>"#), line: 4, "needs both certificateFile and keyFile")
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" username="a b" password="x"/>"#), line: 4, "must not contain a space")
        expectError(
            Self.peerServer(#"<SessionPeer nodeId="n1" port="11311" certificateFile="/p.pem" keyFile="/p.key"/>"#),
            line: 4, "the endpoint serves TLS: name 'n1' memcacheds://host:port"
        )
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11311"/>"#, nodes: tlsNodes), line: 4, "'n1' is memcacheds:// (TLS) in memcachedNodes")
        expectError(Self.peerServer(#"<SessionPeer nodeId="n1" port="11312"/>"#), line: 4, "'n1' names port 11311 in memcachedNodes, and this endpoint listens on 11312")
    }
}
