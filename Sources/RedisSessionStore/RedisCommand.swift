import CHiredis
import NIOCore
import SessionStoreNIO

/// Encodes a command with hiredis's `redisFormatCommandArgv` (RESP multi-bulk, binary-safe).
enum RedisCommand {
    /// Encodes `arguments` (command name first) into a buffer.
    static func encode(_ arguments: [[UInt8]], allocator: ByteBufferAllocator) throws -> ByteBuffer {
        // One contiguous copy of every argument, so that one pointer per argument stays valid
        // for the duration of the call.
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(0) { $0 + $1.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            joined.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        return try joined.withUnsafeBufferPointer { bytes -> ByteBuffer in
            let base = bytes.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(bitPattern: 1)
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(arguments.count)
            var offset = 0
            for length in lengths {
                pointers.append(base.map { ($0 + offset).assumingMemoryBound(to: CChar.self) })
                offset += length
            }
            var target: UnsafeMutablePointer<CChar>?
            let count = pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    redisFormatCommandArgv(&target, Int32(arguments.count), argv.baseAddress, argvlen.baseAddress)
                }
            }
            guard count >= 0, let target else { throw StoreClientError(.protocolError, "hiredis could not format the command") }
            defer { redisFreeCommand(target) }
            var buffer = allocator.buffer(capacity: Int(count))
            buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(count)))
            return buffer
        }
    }

    static func encode(_ arguments: String..., allocator: ByteBufferAllocator) throws -> ByteBuffer {
        try encode(arguments.map { Array($0.utf8) }, allocator: allocator)
    }
}
