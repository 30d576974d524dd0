"""The inline stylesheet of the HTML report (system fonts only: nothing is fetched)."""

from __future__ import annotations

__all__ = ["STYLE"]

STYLE = """
:root{--ink:#1d2430;--muted:#5b6573;--line:#d9dee5;--panel:#f6f8fa;--accent:#4e79a7}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:#fff}
header{padding:28px 32px 12px;border-bottom:1px solid var(--line);background:var(--panel)}
h1{margin:0;font-size:26px;letter-spacing:-.01em}
.subtitle{margin:4px 0 0;color:var(--muted)}
nav{padding:6px 32px;border-bottom:1px solid var(--line);font-size:13px}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px}
nav a{color:var(--accent);text-decoration:none}
nav a:hover{text-decoration:underline}
main{max-width:980px;margin:0 auto;padding:8px 32px 32px}
section{margin:28px 0}
h2{font-size:19px;margin:0 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:14px 0 6px}
h4{font-size:13px;margin:10px 0 4px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
figure{margin:0}
svg.chart{display:block;width:100%;height:auto;max-width:900px;font-size:12px}
figcaption .note{margin:4px 0 0;font-size:13px;color:var(--muted)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;margin:0}
.facts div{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.facts div:last-child{grid-column:1/-1}
dt{font-size:12px;color:var(--muted)}
dd{margin:0;font-weight:600}
.key-insights li{margin:3px 0}
.warning-link{margin:8px 0 0;font-size:13px}
.warning-link a{color:#8a4a00}
.table-wrap{overflow-x:auto;margin-top:10px}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-size:12px;color:var(--muted);padding-bottom:4px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
td.n{text-align:right}
th[scope=col]{background:var(--panel);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:14px}
.segment{border:1px solid var(--line);border-top:5px solid var(--accent);border-radius:6px;padding:4px 14px 10px;
break-inside:avoid}
.segment h3{display:flex;align-items:center;gap:8px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px}
.segment-facts{display:flex;flex-wrap:wrap;gap:4px 16px;margin:0}
.segment ul{margin:0;padding-left:18px;font-size:13.5px}
.segment li{margin:2px 0}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#eef1f4;color:var(--muted)}
.badge.high{background:#fde2dc;color:#8a2a14}
.badge.medium{background:#fdf0d0;color:#6b4e00}
.warnings li{margin:3px 0}
footer{border-top:1px solid var(--line);padding:12px 32px;font-size:12px;color:var(--muted)}
.chart .grid{stroke:#e6e9ee;stroke-width:1}
.chart .axis,.chart .baseline{stroke:#8a94a3;stroke-width:1}
.chart .tick{fill:#5b6573;font-size:11px}
.chart .axis-title{fill:#1d2430;font-size:12.5px}
.chart .k-line{fill:none;stroke:#9aa7b8;stroke-width:1.5}
.chart .error-bar{stroke:#4e79a7;stroke-width:1.5;fill:none}
.chart .k-point{fill:#4e79a7;stroke:#fff;stroke-width:1}
.chart .k-point.chosen{fill:#e15759;stroke:#fff;stroke-width:2}
.chart .near-tie{fill:none;stroke:#f28e2b;stroke-width:2;stroke-dasharray:3 2}
.chart .mark-label{fill:#8a4a00;font-size:11.5px;font-weight:600}
.chart .mark-label.chosen{fill:#b3261e}
.chart .bar-label,.chart .row-label,.chart .legend{fill:#1d2430;font-size:12px}
.chart .bar-value{fill:#5b6573;font-size:11.5px}
.chart .col-head{fill:#1d2430;font-size:12px;font-weight:600}
.chart .col-name{fill:#5b6573;font-size:11px}
.chart .cell{stroke:#fff;stroke-width:0}
.chart .cell-text{font-size:11px;pointer-events:none}
.chart .points circle{fill-opacity:.55}
.chart .center{stroke-width:3.5;fill:none;stroke-linecap:round}
.chart .center-halo{stroke:#fff;stroke-width:7;fill:none;stroke-linecap:round}
.chart .median{stroke:#1d2430;stroke-width:2}
.chart rect.bar:hover,.chart rect.cell:hover,.chart rect.bin:hover{opacity:.8}
th[scope=col]{white-space:normal;vertical-align:bottom}
@media (min-width:1180px){
  main{max-width:1240px}
  .chart-section{display:grid;grid-template-columns:minmax(0,1fr) 450px;gap:4px 24px;align-items:start}
  .chart-section>h2{grid-column:1/-1}
  .chart-section.stacked{display:block}
  .chart-section .table-wrap{margin-top:28px}
}
@media print{
  header,nav{background:none}
  nav{display:none}
  main{max-width:none;padding:0 8mm}
  section,figure,.segment,table{break-inside:avoid}
  .chart-section{display:block}
  a{color:inherit;text-decoration:none}
}
"""
