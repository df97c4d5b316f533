import DocketCore
import Foundation

/// The dashboard's style sheet and its one script, inline in every page (no build step, nothing else to fetch).
enum DashboardStyle {
    static let css = HTML(
        trusted: """
            :root{color-scheme:light dark;--line:#d0d7de;--muted:#57606a;--ok:#1a7f37;--bad:#cf222e;--wait:#9a6700}
            body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:0 1.5rem 2rem}
            header{display:flex;gap:1rem;align-items:baseline;border-bottom:1px solid var(--line)}
            header h1{font-size:1.2rem;margin:.8rem 0} a.home{font-weight:700;text-decoration:none}
            h2{font-size:1.05rem;margin:1.4rem 0 .5rem} h3{font-size:.95rem;margin:1rem 0 .3rem}
            table{border-collapse:collapse} th,td{border:1px solid var(--line);padding:.35rem .5rem;vertical-align:top;text-align:left}
            table.grid td{min-width:14rem} .summary{color:var(--muted)}
            .digest,code{font-family:ui-monospace,monospace} .digest{font-weight:600}
            .tags .tag{display:inline-block;border:1px solid var(--line);border-radius:1rem;padding:0 .45rem;margin:.1rem .15rem 0 0;font-size:.85em}
            .since,.candidate,.pipeline,.nothing{display:block;color:var(--muted);font-size:.9em}
            .pipeline{font-weight:400} .drift{display:block;color:var(--bad);font-weight:600}
            .gatebox{margin-top:.4rem;border-top:1px dashed var(--line);padding-top:.3rem}
            .gate{font-weight:700} .eligible{color:var(--ok)} .blocked{color:var(--bad)}
            .soak{display:block;font-size:.9em} progress{vertical-align:middle;width:6rem}
            ul.needs{margin:.2rem 0 0;padding-left:1.1rem;font-size:.9em}
            tr.fail td{color:var(--bad)} tr.pass td:first-child{color:var(--ok)}
            .empty{color:var(--muted)} footer{margin-top:2rem;color:var(--muted);font-size:.85em}
            @media print{footer,script{display:none} a{color:inherit;text-decoration:none}}
            """)

    /// Polls `/checkpoint` every 3 s and reloads the page once the tree is larger than the one it shows.
    static let refresh = HTML(
        trusted: """
            (function(){var shown=Number(document.body.dataset.size);
            function tick(){fetch('/checkpoint',{cache:'no-store'}).then(function(r){return r.ok?r.text():''})
            .then(function(t){var size=Number((t.split('\\n')[1]||'').trim());if(size>shown){location.reload();return}
            setTimeout(tick,3000)},function(){setTimeout(tick,3000)})}
            setTimeout(tick,3000)})();
            """)
}

extension DashboardStyle {
    /// Only this style sheet and this script may run, only `/checkpoint` may be fetched, nothing else is loaded.
    static let contentSecurityPolicy: String = {
        func hash(_ html: HTML) -> String { "'sha256-\(SHA256.hash(Data(html.markup.utf8)).base64EncodedString())'" }
        return
            "default-src 'none'; style-src \(hash(css)); script-src \(hash(refresh)); connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }()
}
