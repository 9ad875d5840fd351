import CHiredis
import NIOCore
import NIOEmbedded
import SessionStoreNIO
import SessionTesting
import Testing

@testable import RedisSessionStore

/// Our command encoder and hiredis's reader through its wrapper, without a server.
@Suite(.capturedLog) struct RedisCommandTests {
    @Test func commandsAreBinarySafeRESP() throws {
        let buffer = RedisCommand.encode([Array("SET".utf8), [0, 13, 10, 255], []], allocator: ByteBufferAllocator())
        let expected: [UInt8] = Array("*3\r\n$3\r\nSET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$0\r\n\r\n".utf8)
        #expect(Array(buffer.readableBytesView) == expected)
    }

    /// hiredis's own encoder, the reference for ours.
    static func hiredisFormat(_ arguments: [[UInt8]]) -> [UInt8] {
        let copies = arguments.map { argument in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, argument.count))
            argument.withUnsafeBytes { bytes in
                UnsafeMutableRawPointer(copy).copyMemory(from: bytes.baseAddress ?? UnsafeRawPointer(copy), byteCount: bytes.count)
            }
            return copy
        }
        defer { copies.forEach { $0.deallocate() } }
        var pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
        var lengths = arguments.map(\.count)
        var target: UnsafeMutablePointer<CChar>?
        let count = redisFormatCommandArgv(&target, Int32(arguments.count), &pointers, &lengths)
        guard count >= 0, let target else { return [] }
        defer { redisFreeCommand(target) }
        return Array(UnsafeRawBufferPointer(start: target, count: Int(count)))
    }

    @Test func everyWayOfWritingACommandGivesHiredisBytes() {
        let allocator = ByteBufferAllocator()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let arguments = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            #expect(Array(RedisCommand.encode(arguments, allocator: allocator).readableBytesView) == Self.hiredisFormat(arguments))
        }
        for number in [0, 1, 9, 10, 99, 100, 1_800_000, Int.max, -1, -42, Int.min + 1] {
            var command = RedisCommand(arguments: 3, allocator: allocator)
            command.append("PX")
            command.append(bytes: [0, 255])
            command.append(number)
            let reference = Self.hiredisFormat([Array("PX".utf8), [0, 255], Array(String(number).utf8)])
            #expect(Array(command.buffer.readableBytesView) == reference, "\(number)")
        }
        #expect(
            Array(RedisCommand.encode("GETEX", "sm:ä", allocator: allocator).readableBytesView)
                == Self.hiredisFormat([Array("GETEX".utf8), Array("sm:ä".utf8)])
        )
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
