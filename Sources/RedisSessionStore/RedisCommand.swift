import NIOCore
import SessionStoreNIO

/// Writes a Redis command (RESP multi-bulk, binary-safe) straight into a `ByteBuffer`.
///
/// hiredis's `redisFormatCommandArgv` produces the same bytes (a test checks that, argument list by
/// argument list), but calling it costs a pointer array, one joined copy of every argument, a
/// `malloc` and a `sprintf` per length, then a copy out: about a microsecond per command, on every
/// request. RESP requests are simple enough to write directly; hiredis still reads the replies,
/// where its streaming parser earns its keep.
struct RedisCommand {
    /// The encoded command.
    private(set) var buffer: ByteBuffer

    /// Starts a command of `count` arguments (the command name included); `capacity` is a hint.
    init(arguments count: Int, capacity: Int = 64, allocator: ByteBufferAllocator) {
        buffer = allocator.buffer(capacity: capacity + 16 * count)
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeDecimal(count)
        writeLineEnd()
    }

    /// `WAIT <replicas> <milliseconds>`: wait until that many replicas have this connection's writes.
    static func wait(replicas: Int, milliseconds: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var command = RedisCommand(arguments: 3, capacity: 32, allocator: allocator)
        command.append("WAIT")
        command.append(replicas)
        command.append(milliseconds)
        return command.buffer
    }

    /// Whether `command` is a ``wait(replicas:milliseconds:allocator:)`` (which must stay on the
    /// connection of the write before it).
    static func isWait(_ command: ByteBuffer) -> Bool {
        command.readableBytesView.starts(with: waitPrefix)
    }

    private static let waitPrefix = Array("*3\r\n$4\r\nWAIT\r\n".utf8)

    /// Appends a text argument.
    mutating func append(_ text: String) {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(text.utf8.count)
        writeLineEnd()
        buffer.writeString(text)
        writeLineEnd()
    }

    /// Appends a binary argument.
    mutating func append<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(bytes.count)
        writeLineEnd()
        buffer.writeBytes(bytes)
        writeLineEnd()
    }

    /// Appends an integer argument as decimal text (`PX 1800000`).
    mutating func append(_ number: Int) {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeDecimal(ByteBuffer.decimalLength(number))
        writeLineEnd()
        buffer.writeDecimal(number)
        writeLineEnd()
    }

    /// Encodes a whole argument list (tests, and commands off the hot path).
    static func encode(_ arguments: [[UInt8]], allocator: ByteBufferAllocator) -> ByteBuffer {
        var command = RedisCommand(arguments: arguments.count, capacity: arguments.reduce(0) { $0 + $1.count }, allocator: allocator)
        for argument in arguments { command.append(bytes: argument) }
        return command.buffer
    }

    /// Encodes a command of text arguments.
    static func encode(_ arguments: String..., allocator: ByteBufferAllocator) -> ByteBuffer {
        var command = RedisCommand(arguments: arguments.count, allocator: allocator)
        for argument in arguments { command.append(argument) }
        return command.buffer
    }

    private mutating func writeLineEnd() {
        buffer.writeInteger(UInt16(0x0D0A))  // "\r\n", big-endian
    }
}
