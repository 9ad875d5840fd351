import Foundation

/// Plain blocking loopback sockets, for tests that must do what NIO does not let a client do:
/// hold more sockets than the server may, or reset a connection.
public enum RawSocket {
    /// A blocking socket connected to `127.0.0.1:port`.
    public static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw ClientError("connect to port \(port) failed: errno \(errno)")
        }
        return fd
    }

    /// Closes `fd` with a reset (`SO_LINGER` 0): the peer reads `ECONNRESET`, not an end of stream.
    public static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}
