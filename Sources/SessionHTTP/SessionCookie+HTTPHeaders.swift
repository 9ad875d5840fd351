import NIOHTTP1
import SessionManager

/// The bundled server's headers are NIO's: the cookie reading of the core, over them.
extension SessionCookie {
    /// The well-formed session ids sent under `name` in the request's `Cookie` headers, in order, at most three.
    public static func requestedIDs(in headers: HTTPHeaders, name: String) -> RequestedSessionIDs {
        requestedIDs(inHeaderValues: headers.lazy.filter { $0.name.equalsIgnoringASCIICase("cookie") }.map(\.value), name: name)
    }

    /// The first well-formed session id sent under `name`, or `nil`.
    public static func requestedID(in headers: HTTPHeaders, name: String) -> SessionID? {
        requestedIDs(in: headers, name: name).first
    }
}
