@testable import SessionPeerEndpoint
import Testing

/// The endpoint's answers, command by command, as memcached gives them.
@Suite struct PeerCommandExecutorTests {
    struct Connection {
        var cache = PeerCache(limitBytes: 1 << 20)
        var authenticated = false
        var clock = PeerCommandExecutor.Clock(nowMilliseconds: 1_000, unixSeconds: 1_796_000_000)
        let executor: PeerCommandExecutor

        init(credentials: (String, String)? = nil) {
            executor = PeerCommandExecutor(credentials: credentials.map { (username: $0.0, password: $0.1) }, version: "1.6.0-peer-test")
        }

        mutating func send(_ text: String) -> String {
            var bytes = Array(text.utf8)
            var replies = ""
            while let (command, consumed) = bytes.withUnsafeBytes({ PeerCommandParser.parse($0, maximumValue: 1 << 20) }) {
                replies += String(decoding: executor.run(command, on: &cache, authenticated: &authenticated, clock: clock), as: UTF8.self)
                bytes.removeFirst(consumed)
            }
            return replies
        }
    }

    @Test func theClassicCommands() {
        var c = Connection()
        #expect(c.send("get k\r\n") == "END\r\n")
        #expect(c.send("set k 0 60 3\r\nabc\r\n") == "STORED\r\n")
        #expect(c.send("add k 0 60 1\r\nx\r\n") == "NOT_STORED\r\n")
        #expect(c.send("gat 5 k\r\n") == "VALUE k 0 3\r\nabc\r\nEND\r\n")
        c.clock.nowMilliseconds += 6_000
        #expect(c.send("get k\r\n") == "END\r\n", "the gat set a 5 s expiry")
        #expect(c.send("touch k 10\r\n") == "NOT_FOUND\r\n")
        #expect(c.send("set k 0 1796000100 1\r\nz\r\n") == "STORED\r\n", "an absolute expiry, 100 s ahead")
        c.clock.nowMilliseconds += 99_000
        #expect(c.send("delete k\r\n") == "DELETED\r\n")
        #expect(c.send("delete k\r\n") == "NOT_FOUND\r\n")
        #expect(c.send("flush_all\r\n") == "ERROR\r\n")
        #expect(c.send("version\r\n") == "VERSION 1.6.0-peer-test\r\n")
    }

    @Test func theMetaCommandsOfLocksAndIndexes() {
        var c = Connection()
        #expect(c.send("ms lock 1 T5 c ME\r\nt\r\n") == "HD c1\r\n")
        #expect(c.send("ms lock 1 T5 c ME\r\nu\r\n") == "NS c0\r\n", "an add of an existing key")
        #expect(c.send("ms lock 1 T5 c C9\r\nt\r\n") == "EX c0\r\n", "another CAS value")
        #expect(c.send("ms lock 1 T5 c C1\r\nt\r\n") == "HD c2\r\n")
        #expect(c.send("mg lock v c t\r\n") == "VA 1 c2 t5\r\nt\r\n")
        #expect(c.send("md lock C1\r\n") == "EX\r\n")
        #expect(c.send("md lock C2\r\n") == "HD\r\n")
        #expect(c.send("md lock C2\r\n") == "NF\r\n")
        #expect(c.send("mg lock v c\r\n") == "EN\r\n")
        #expect(c.send("ms sess 1 T60 MR\r\nx\r\n") == "NS\r\n", "a replace of an absent key")
        #expect(c.send("ms idx 1 T60 c C3\r\nx\r\n") == "NF c0\r\n")
    }

    @Test func aLoginComesFirst() {
        var c = Connection(credentials: ("peer", "s3cret"))
        #expect(c.send("version\r\n") == "CLIENT_ERROR unauthenticated\r\n")
        #expect(c.send("set auth 0 0 10\r\npeer wrong\r\n") == "CLIENT_ERROR authentication failure\r\n")
        #expect(c.send("set auth 0 0 11\r\npeer s3cret\r\n") == "STORED\r\n")
        #expect(c.send("version\r\n") == "VERSION 1.6.0-peer-test\r\n")
    }
}
