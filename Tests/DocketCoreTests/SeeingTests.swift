import Foundation
import Testing

@testable import DocketCore

/// The pieces the dashboard, the report and the notifications rest on: HTML that escapes what it interpolates,
/// and HMAC-SHA-256.
@Suite("Seeing it: HTML and HMAC")
struct SeeingTests {
    @Test("interpolated text is escaped, literals and HTML are markup")
    func interpolation() {
        let hostile = "<script>alert('x')</script> & \"q\""
        let cell: HTML = "<td title=\"\(hostile)\">\(hostile)</td>"
        #expect(
            cell.markup
                == "<td title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</td>"
        )
        let inner: HTML = "<b>\("a<b")</b>"
        let outer: HTML = "<p>\(inner)\([inner, inner])</p>"
        #expect(outer.markup == "<p><b>a&lt;b</b><b>a&lt;b</b><b>a&lt;b</b></p>")
    }

    @Test("bidirectional overrides and control characters are shown, not applied")
    func invisibleCharacters() {
        #expect(HTML.escape("a\u{202E}b\u{0007}c\u{2066}") == "a\\u{202e}b\\u{7}c\\u{2066}")
        #expect(HTML.escape("line\nnext\ttab") == "line\nnext\ttab")
        #expect(HTML.escape("ünïcödé ✓") == "ünïcödé ✓")
    }

    @Test("path segments are percent-encoded")
    func paths() {
        let link: HTML = "<a href=\"/env/\(path: "prod east/\"x\"")\">"
        #expect(link.markup == "<a href=\"/env/prod%20east%2F%22x%22\">")
        #expect(HTML.percentEncoded("sha256:ab-._~") == "sha256:ab-._~")
    }

    /// RFC 4231 test cases 1 and 2.
    @Test("HMAC-SHA-256 matches RFC 4231")
    func hmac() {
        let one = HMAC.sha256(key: Data(repeating: 0x0b, count: 20), message: Data("Hi There".utf8))
        #expect(one.hex == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let two = HMAC.sha256(key: Data("Jefe".utf8), message: Data("what do ya want for nothing?".utf8))
        #expect(two.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
