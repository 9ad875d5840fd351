import NIOCore
import NIOHTTP1

/// Answers requests the decoder rejects: `431` when the headers exceed ``ConnectorConfiguration/maxHttpHeaderSize``,
/// `400` for anything else malformed, each with a short body; the connection is then closed.
///
/// Replaces NIO's `HTTPServerProtocolErrorHandler`, which answers every parser error with an empty 400.
final class HTTPErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Never
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInProgress = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !responseInProgress {
            let (status, text): (HTTPResponseStatus, String) =
                parserError == .headerOverflow
                ? (.requestHeaderFieldsTooLarge, "request header fields too large\n")
                : (.badRequest, "bad request\n")
            let body = context.channel.allocator.buffer(string: text)
            let head = HTTPResponseHead(
                version: .http1_1,
                status: status,
                headers: [
                    "Connection": "close", "Content-Length": "\(body.readableBytes)",
                    "Content-Type": "text/plain; charset=utf-8",
                ]
            )
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInProgress = true
        case .end: responseInProgress = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
