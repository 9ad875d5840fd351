@testable import SessionPeerEndpoint
import Testing

/// The endpoint's reading of the memcached text protocol, on every split of the input.
@Suite struct PeerCommandParserTests {
    static func parseAll(_ text: String, maximumValue: Int = 1 << 20) -> [PeerCommand] {
        var bytes = Array(text.utf8)
        var commands: [PeerCommand] = []
        while let (command, consumed) = bytes.withUnsafeBytes({ PeerCommandParser.parse($0, maximumValue: maximumValue) }) {
            commands.append(command)
            bytes.removeFirst(consumed)
        }
        return commands
    }

    static let stream = "gat 60 sm:k1\r\nset sm:k2 0 60 3\r\nabc\r\nms lock:k 4 T5 c ME\r\ntokn\r\nmd lock:k C12\r\nmg idx v c\r\nversion\r\nflush_all\r\n"

    @Test func theStoresCommandsInOneRead() {
        #expect(Self.parseAll(Self.stream) == [
            .get(key: "sm:k1", touch: 60),
            .store(.set, key: "sm:k2", exptime: 60, value: Array("abc".utf8)),
            .metaSet(key: "lock:k", value: Array("tokn".utf8), flags: ["T5", "c", "ME"]),
            .metaDelete(key: "lock:k", flags: ["C12"]),
            .metaGet(key: "idx", flags: ["v", "c"]),
            .version,
            .unknown("flush_all"),
        ])
    }

    @Test func everySplitGivesTheSameCommands() {
        let bytes = Array(Self.stream.utf8)
        let whole = Self.parseAll(Self.stream)
        for split in 1..<bytes.count {
            var buffer: [UInt8] = []
            var commands: [PeerCommand] = []
            for chunk in [Array(bytes[..<split]), Array(bytes[split...])] {
                buffer += chunk
                while let (command, consumed) = buffer.withUnsafeBytes({ PeerCommandParser.parse($0, maximumValue: 1 << 20) }) {
                    commands.append(command)
                    buffer.removeFirst(consumed)
                }
            }
            #expect(commands == whole, "split at \(split)")
        }
    }

    @Test func malformedAndOversizedCommandsAreClientErrors() {
        #expect(Self.parseAll("set k 0 x 3\r\n") == [.malformed("bad command line format")])
        #expect(Self.parseAll("set k 0 60 3\r\nabcd\r\n").first == .malformed("bad data chunk"))
        #expect(Self.parseAll("set k 0 60 2000\r\n", maximumValue: 1000) == [.malformed("object too large for cache")])
        #expect(Self.parseAll(String(repeating: "a", count: 3000)) == [.malformed("line too long")])
    }
}
