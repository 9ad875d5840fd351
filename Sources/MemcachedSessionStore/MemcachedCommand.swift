import Foundation
import NIOCore
import SessionStoreNIO

/// Encodes the commands of the memcached text protocol that the store uses.
package enum MemcachedCommand {
    /// memcached treats expirations above 30 days as absolute Unix times (msm issue #147).
    package static let relativeExpirationLimit = 60 * 60 * 24 * 30

    /// Checks a key before anything is sent: 1–250 bytes, no spaces or control characters.
    package static func validate(_ key: String) throws {
        let utf8 = key.utf8
        guard !utf8.isEmpty, utf8.count <= 250 else {
            throw StoreClientError(.invalidKey, "memcached keys are 1-250 bytes, this one is \(utf8.count)")
        }
        guard utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw StoreClientError(.invalidKey, "memcached keys cannot contain spaces or control characters")
        }
    }

    /// The `exptime` field for a time to live: whole seconds rounded up (0 would mean "never"),
    /// as an absolute Unix time beyond 30 days.
    package static func expiration(_ ttl: Duration, now: Date = Date()) -> Int {
        let (seconds, attoseconds) = ttl.components
        let whole = max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
        guard whole > relativeExpirationLimit else { return whole }
        return Int(now.timeIntervalSince1970) + whole
    }

    /// `get <key>` or `gat <exptime> <key>`.
    package static func get(_ key: String, touching ttl: Duration?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + 24)
        if let ttl {
            buffer.writeString("gat ")
            buffer.writeDecimal(expiration(ttl))
            buffer.writeString(" ")
        } else {
            buffer.writeString("get ")
        }
        buffer.writeString(key)
        buffer.writeString("\r\n")
        return buffer
    }

    /// `set`/`add <key> 0 <exptime> <bytes>` + data.
    package static func store(_ verb: String, _ key: String, value: [UInt8], ttl: Duration, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + value.count + 48)
        buffer.writeString(verb)
        buffer.writeString(" ")
        buffer.writeString(key)
        buffer.writeString(" 0 ")
        buffer.writeDecimal(expiration(ttl))
        buffer.writeString(" ")
        buffer.writeDecimal(value.count)
        buffer.writeString("\r\n")
        buffer.writeBytes(value)
        buffer.writeString("\r\n")
        return buffer
    }

    /// `version`: the probe of a new connection (cheap, answered by every memcached).
    package static func version(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 9)
        buffer.writeString("version\r\n")
        return buffer
    }

    /// memcached's text-protocol authentication (`memcached -Y`): a `set` whose data is
    /// `<username> <password>`, the key and flags ignored; answered `STORED` or
    /// `CLIENT_ERROR authentication failure`.
    package static func authenticate(username: String, password: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        store("set", "auth", value: Array("\(username) \(password)".utf8), ttl: .seconds(1), allocator: allocator)
    }

    /// `delete <key>`.
    package static func delete(_ key: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + 10)
        buffer.writeString("delete \(key)\r\n")
        return buffer
    }

    /// `touch <key> <exptime>`.
    package static func touch(_ key: String, ttl: Duration, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + 24)
        buffer.writeString("touch \(key) \(expiration(ttl))\r\n")
        return buffer
    }

    /// Meta set: `ms <key> <bytes> T<exptime> c [M<mode>] [C<cas>]` + data; `mode` `E` adds (only
    /// if absent), `cas` sets only while the key still has that CAS value. The reply carries the
    /// new CAS value (`HD c<cas>`).
    package static func metaSet(_ key: String, value: [UInt8], ttl: Duration, mode: Character? = nil, compareCAS: UInt64? = nil, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + value.count + 64)
        buffer.writeString("ms \(key) \(value.count) T\(expiration(ttl)) c")
        if let mode { buffer.writeString(" M\(mode)") }
        if let compareCAS { buffer.writeString(" C\(compareCAS)") }
        buffer.writeString("\r\n")
        buffer.writeBytes(value)
        buffer.writeString("\r\n")
        return buffer
    }

    /// Meta get of the value and its CAS value, without touching it: `mg <key> v c`.
    package static func metaGetVersioned(_ key: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + 16)
        buffer.writeString("mg \(key) v c\r\n")
        return buffer
    }

    /// Meta delete only while the key has CAS value `cas`: `md <key> C<cas>`.
    package static func metaDelete(_ key: String, compareCAS cas: UInt64, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: key.utf8.count + 32)
        buffer.writeString("md \(key) C\(cas)\r\n")
        return buffer
    }
}
