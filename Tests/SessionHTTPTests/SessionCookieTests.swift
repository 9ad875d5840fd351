import NIOHTTP1
import SessionManager
import SessionTesting
import Testing

@testable import SessionHTTP

@Suite(.capturedLog) struct SessionCookieTests {
    let valid = "0123456789ABCDEF0123456789ABCDEF.node1"

    @Test func findsTheSessionCookieAmongOthers() {
        let id = SessionCookie.requestedID(inHeaderValue: "a=1; JSESSIONID=\(valid); b=2", name: "JSESSIONID")
        #expect(id?.description == valid)
        #expect(SessionCookie.requestedID(inHeaderValue: "JSESSIONID=\"\(valid)\"", name: "JSESSIONID")?.description == valid)
        #expect(SessionCookie.requestedID(inHeaderValue: "  JSESSIONID=\(valid)  ", name: "JSESSIONID")?.description == valid)
        #expect(SessionCookie.requestedID(inHeaderValue: "XJSESSIONID=\(valid)", name: "JSESSIONID") == nil)
        #expect(SessionCookie.requestedID(inHeaderValue: "JSESSIONID=\(valid)", name: "SID") == nil)
    }

    @Test(arguments: [
        "JSESSIONID=", "JSESSIONID", "JSESSIONID=abc", "JSESSIONID=\(String(repeating: "A", count: 10_000))",
        "JSESSIONID=0123456789abcdef0123456789abcdef", "JSESSIONID=0123456789ABCDEF0123456789ABCDEF\r\nX: y",
        "JSESSIONID=0123456789ABCDEF0123456789ABCDEG", ";;;;", "=", "JSESSIONID=\"0123456789ABCDEF0123456789ABCDEF",
    ])
    func malformedValuesAreNoCookie(header: String) {
        #expect(SessionCookie.requestedID(inHeaderValue: header, name: "JSESSIONID") == nil)
    }

    @Test func firstWellFormedValueWinsWhenRepeated() {
        let header = "JSESSIONID=garbage; JSESSIONID=\(valid); JSESSIONID=FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        #expect(SessionCookie.requestedID(inHeaderValue: header, name: "JSESSIONID")?.description == valid)
        let headers = HTTPHeaders([("Cookie", "JSESSIONID=x"), ("cookie", "JSESSIONID=\(valid)")])
        #expect(SessionCookie.requestedID(in: headers, name: "JSESSIONID")?.description == valid)
    }

    @Test func setCookieCarriesPathHttpOnlyAndSameSite() throws {
        let id = try #require(SessionID(parsing: valid))
        #expect(SessionCookie.setCookie(id, path: "/myapp", configuration: .init())
            == "JSESSIONID=\(valid); Path=/myapp; HttpOnly; SameSite=Lax")
        #expect(SessionCookie.setCookie(id, path: "", configuration: .init(name: "SID", secure: true, sameSite: .strict, domain: "example.org"))
            == "SID=\(valid); Path=/; Domain=example.org; HttpOnly; SameSite=Strict; Secure")
        #expect(SessionCookie.expiringCookie(path: "/myapp", configuration: .init())
            == "JSESSIONID=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/myapp; HttpOnly; SameSite=Lax")
    }

    @Test func cookieNamesAreTokens() {
        #expect(SessionCookieConfiguration.isValidName("JSESSIONID"))
        #expect(!SessionCookieConfiguration.isValidName("a b"))
        #expect(!SessionCookieConfiguration.isValidName("a;b"))
        #expect(!SessionCookieConfiguration.isValidName(""))
    }
}
