import Foundation

/// A throwaway PKI made by `openssl` for a test run: a CA, a server certificate for `localhost`
/// and `127.0.0.1`, one that names only `sessions.internal` (a cluster's certificate, reached by
/// IP), a client certificate (mutual TLS), a second CA nobody's certificates come
/// from (an unknown CA), and a server certificate that expired (signed by the CA, dated in 2020).
/// Made once per process (key generation costs ~100 ms), in a temporary folder.
public struct TestCertificates: Sendable {
    /// The folder holding the files.
    public let folder: String
    /// The CA certificate every good certificate is signed by.
    public var caFile: String { path("ca.pem") }
    /// A CA that signed none of the servers' certificates.
    public var otherCAFile: String { path("other-ca.pem") }
    /// The server certificate (SAN `localhost`, `127.0.0.1`) and key.
    public var serverCertificateFile: String { path("server.pem") }
    public var serverKeyFile: String { path("server.key") }
    /// A server certificate of the CA for `sessions.internal` only (no IP address), and its key.
    public var namedServerCertificateFile: String { path("named.pem") }
    public var namedServerKeyFile: String { path("named.key") }
    /// A server certificate of the CA whose validity ended on 2020-02-01, and its key.
    public var expiredServerCertificateFile: String { path("expired.pem") }
    public var expiredServerKeyFile: String { path("expired.key") }
    /// The client certificate for mutual TLS and its key.
    public var clientCertificateFile: String { path("client.pem") }
    public var clientKeyFile: String { path("client.key") }

    private func path(_ name: String) -> String { folder + "/" + name }

    /// Whether `openssl` is installed (or CI, where it must be).
    public static var isRunnable: Bool { ProcessInfo.processInfo.environment["CI"] != nil || ChildProcess.find("openssl") != nil }

    /// The run's certificates, made on first use.
    public static func shared() async throws -> TestCertificates {
        try await made.value
    }

    private static let made = Task<TestCertificates, any Error> { try await make() }

    /// Makes a new set in a new temporary folder.
    public static func make() async throws -> TestCertificates {
        guard let openssl = ChildProcess.find("openssl") else {
            throw ClientError("openssl is not installed: run Scripts/install-dependencies.sh test (or apt-get install openssl)")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sm-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func run(_ arguments: [String]) async throws {
            let (status, output) = try await ChildProcess.run(openssl, arguments, directory: folder)
            guard status == 0 else { throw ClientError("openssl \(arguments.joined(separator: " ")) failed: \(output)") }
        }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try await run(["req", "-x509"] + key + ["-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "3650", "-subj", "/CN=session-manager test \(ca)"])
        }
        // clientAuth too: Redis nodes show their certificate as clients to each other (cluster bus, replication).
        try write("server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
        try write("client.ext", "extendedKeyUsage=clientAuth\n")
        try write("named.ext", "subjectAltName=DNS:sessions.internal\nextendedKeyUsage=serverAuth,clientAuth\n")
        for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=session-manager client"), ("named", "/CN=sessions.internal")] {
            try await run(["req"] + key + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
            try await run([
                "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "3650", "-extfile", "\(name).ext", "-out", "\(name).pem",
            ])
        }
        // `openssl x509` cannot date a certificate in the past; `openssl ca` can.
        try write("index.txt", "")
        try write("serial", "1000\n")
        try write(
            "ca.cnf",
            """
            [ca]
            default_ca = test
            [test]
            dir = .
            database = index.txt
            serial = serial
            new_certs_dir = .
            certificate = ca.pem
            private_key = ca.key
            default_md = sha256
            policy = anything
            copy_extensions = none
            [anything]
            commonName = supplied
            [server]
            subjectAltName = DNS:localhost,IP:127.0.0.1
            extendedKeyUsage = serverAuth,clientAuth

            """
        )
        try await run(["req"] + key + ["-keyout", "expired.key", "-out", "expired.csr", "-subj", "/CN=localhost"])
        try await run([
            "ca", "-batch", "-config", "ca.cnf", "-extensions", "server", "-in", "expired.csr", "-out", "expired.pem",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext",
        ])
        return TestCertificates(folder: folder)
    }
}
