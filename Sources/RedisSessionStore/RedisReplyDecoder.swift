import CHiredis
import NIOCore
import SessionStoreNIO

/// Parses the bytes of a connection into ``RedisValue``s with a hiredis `redisReader`.
///
/// The reader is created with the handler and freed with it; every `redisReply` it hands out is
/// converted to a Swift value and freed exactly once, right away. A protocol error from the reader
/// fails the connection (``StoreClientError/Code/protocolError``); the pipeline handler then fails
/// every waiting command and closes the channel.
final class RedisReplyDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RedisValue

    private let reader: UnsafeMutablePointer<redisReader>?
    private var failed = false

    init() {
        reader = redisReaderCreate()
    }

    deinit {
        if let reader { redisReaderFree(reader) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        guard let reader else {
            fail(context, "hiredis could not create a reader (out of memory)")
            return
        }
        let buffer = unwrapInboundIn(data)
        let fed = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard fed == REDIS_OK else {
            fail(context, "hiredis reader: \(Self.errorText(reader))")
            return
        }
        while true {
            var reply: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &reply) == REDIS_OK else {
                fail(context, "hiredis reader: \(Self.errorText(reader))")
                return
            }
            guard let reply else { return }  // needs more bytes
            let value = Self.convert(reply.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(reply)
            context.fireChannelRead(wrapInboundOut(value))
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        failed = true
        context.fireErrorCaught(StoreClientError(.protocolError, message))
    }

    private static func errorText(_ reader: UnsafeMutablePointer<redisReader>) -> String {
        withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Copies a reply tree into Swift values (the C tree is freed by the caller).
    static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        func text() -> [UInt8] {
            guard let str = r.str, r.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: Int(r.len)))
        }
        switch r.type {
        case REDIS_REPLY_STRING: return .bulk(text())
        case REDIS_REPLY_STATUS: return .status(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int(r.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            guard let elements = r.element else { return .array([]) }
            return .array((0..<Int(r.elements)).map { index in
                elements[index].map(convert) ?? .null
            })
        default: return .error("unknown hiredis reply type \(r.type)")
        }
    }
}

@available(*, unavailable)
extension RedisReplyDecoder: Sendable {}
