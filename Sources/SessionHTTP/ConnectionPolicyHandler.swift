import NIOCore
import NIOHTTP1

/// The connection policies that sit between the HTTP codec and the request loop:
///
/// - **Errors**: requests the decoder rejects are answered with `431` when the headers exceed
///   ``ConnectorConfiguration/maxHttpHeaderSize`` and `400` for anything else malformed, each with a
///   short body, then the connection closes. (NIO's `HTTPServerProtocolErrorHandler` answers every
///   parser error with an empty `400`.)
/// - **Idle timeout**: a keep-alive connection with no request in flight and no bytes received for
///   the connector's `connectionTimeout` is closed. A request that takes long to answer is never
///   cut off: the timeout only counts while the connection is idle between requests.
///
/// Both need the same bookkeeping (is a request or response in flight?), and one handler instead
/// of two saves a pipeline hop in each direction on every request.
final class ConnectionPolicyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Requests received and not yet fully answered.
    private var requestsInFlight = 0
    /// A response head was written and its end not yet.
    private var responseInProgress = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestsInFlight += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            responseInProgress = true
        case .end:
            responseInProgress = false
            requestsInFlight = max(0, requestsInFlight - 1)
        default:
            break
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, requestsInFlight == 0 {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

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
}
