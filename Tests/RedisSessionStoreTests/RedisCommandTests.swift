import NIOCore
import NIOEmbedded
import SessionStoreNIO
import Testing

@testable import RedisSessionStore

/// hiredis's encoder and reader through our wrappers, without a server.
@Suite struct RedisCommandTests {
    @Test func commandsAreBinarySafeRESP() throws {
        let buffer = try RedisCommand.encode([Array("SET".utf8), [0, 13, 10, 255], []], allocator: ByteBufferAllocator())
        let expected: [UInt8] = Array("*3\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$0\r\n\r\n".utf8)
        #expect(Array(buffer.readableBytesView) == expected)
    }

    func decode(_ chunks: [[UInt8]]) throws -> [RedisValue] {
        let channel = EmbeddedChannel(handler: RedisReplyDecoder())
        for chunk in chunks { try channel.writeInbound(ByteBuffer(bytes: chunk)) }
        var values: [RedisValue] = []
        while let value = try channel.readInbound(as: RedisValue.self) { values.append(value) }
        _ = try channel.finish()
        return values
    }

    static let stream = Array("+OK\r\n-WRONGTYPE Operation against a key\r\n:42\r\n$3\r\na\r\n\r\n$-1\r\n*2\r\n$1\r\nx\r\n:-7\r\n*0\r\n".utf8)
    static let expected: [RedisValue] = [
        .status("OK"), .error("WRONGTYPE Operation against a key"), .integer(42), .bulk(Array("a\r\n".utf8)), .null,
        .array([.bulk(Array("x".utf8)), .integer(-7)]), .array([]),
    ]

    @Test func repliesSplitAtEveryByteDecodeTheSame() throws {
        for cut in 0...Self.stream.count {
            #expect(try decode([Array(Self.stream[..<cut]), Array(Self.stream[cut...])]) == Self.expected, "split at \(cut)")
        }
    }

    @Test func aProtocolErrorFailsTheConnection() throws {
        let channel = EmbeddedChannel(handler: RedisReplyDecoder())
        #expect(throws: StoreClientError.self) { try channel.writeInbound(ByteBuffer(string: "?garbage\r\n")) }
        _ = try? channel.finish()
    }
}
