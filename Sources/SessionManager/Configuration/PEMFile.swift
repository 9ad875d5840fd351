import Foundation

/// A light reading of a PEM file at configuration time: its blocks' labels, each block's base64
/// checked. It lets a missing, unreadable or mistyped file (a key given as the certificate, a DER
/// file, an empty file) stop the server at start at its attribute, before any connection; the
/// TLS library parses the certificates themselves when the store starts.
struct PEMFile {
    /// The labels of the file's blocks, in order (`CERTIFICATE`, `PRIVATE KEY`, …).
    let labels: [String]

    /// Reads `path`; throws a message saying what is wrong.
    init(path: String) throws(PEMFileError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PEMFileError("cannot read '\(path)' (missing or unreadable)")
        }
        let text = String(decoding: data, as: UTF8.self)
        var labels: [String] = []
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN ") {
            guard let labelEnd = rest[begin.upperBound...].range(of: "-----") else { break }
            let label = String(rest[begin.upperBound..<labelEnd.lowerBound])
            guard let end = rest[labelEnd.upperBound...].range(of: "-----END \(label)-----") else {
                throw PEMFileError("'\(path)': the PEM block '\(label)' has no END line")
            }
            let body = rest[labelEnd.upperBound..<end.lowerBound]
            // Headers such as `Proc-Type:` (encrypted legacy keys) are not base64.
            guard !body.contains(":") else {
                throw PEMFileError("'\(path)': the PEM block '\(label)' is encrypted; give an unencrypted key (openssl pkey -in key.pem -out plain.pem)")
            }
            guard let der = Data(base64Encoded: body.filter { !$0.isWhitespace }), !der.isEmpty else {
                throw PEMFileError("'\(path)': the PEM block '\(label)' is not valid base64")
            }
            labels.append(label)
            rest = rest[end.upperBound...]
        }
        guard !labels.isEmpty else { throw PEMFileError("'\(path)' is not a PEM file (no -----BEGIN line)") }
        self.labels = labels
    }

    /// Whether the file holds at least one certificate.
    var hasCertificate: Bool { labels.contains("CERTIFICATE") }
    /// Whether the file holds a private key (PKCS #8, PKCS #1 RSA or SEC 1 EC).
    var hasPrivateKey: Bool { labels.contains { $0 == "PRIVATE KEY" || $0 == "RSA PRIVATE KEY" || $0 == "EC PRIVATE KEY" } }
}

/// Why a PEM file cannot be used.
struct PEMFileError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
