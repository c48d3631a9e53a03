// renditions: a <picture> shortcode for Eleventy, from the data file renditions writes
// (config `data: _data/renditions.json`). In eleventy.config.js:
//
//   const picture = require("./picture.js");
//   eleventyConfig.addShortcode("picture", picture.shortcode("_data/renditions.json"));
//
// and in a template (Nunjucks or Liquid):
//
//   {% picture singleImage, MobileSingleImage, title, "100vw" %}
//
// The mobile reference and sizes are optional. A reference the data file doesn't know (not
// built yet) becomes a plain <img>. Values are HTML-escaped here: Eleventy marks a
// shortcode's output safe, so the placeholder's data URI reaches the page as written.
"use strict";
const fs = require("fs");

const escape = (value) =>
  String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const attrs = (pairs) =>
  pairs.filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => ` ${k}="${escape(v)}"`).join("");

function picture(data, src, mobile, alt = "", sizes = "100vw") {
  const d = src ? data[src] : undefined;
  const m = mobile ? data[mobile] : undefined;
  if (!d) {
    return src ? `<img${attrs([["src", src], ["alt", alt], ["loading", "lazy"], ["decoding", "async"]])}>` : "";
  }
  const lines = ["<picture>"];
  if (m) {
    const narrow = (type, srcset) =>
      `  <source${attrs([["media", "(max-width: 640px)"], ["type", type], ["srcset", srcset], ["sizes", sizes], ["width", m.width], ["height", m.height]])}>`;
    for (const s of m.sources) lines.push(narrow(s.type, s.srcset));
    lines.push(narrow(m.type, m.srcset));
  }
  for (const s of d.sources) lines.push(`  <source${attrs([["type", s.type], ["srcset", s.srcset], ["sizes", sizes]])}>`);
  const style = `background-color:${d.colour};background-size:cover;background-image:url(${d.placeholder})`;
  lines.push(
    `  <img${attrs([
      ["src", d.src], ["srcset", d.srcset], ["sizes", sizes], ["width", d.width], ["height", d.height], ["alt", alt],
      ["loading", "lazy"], ["decoding", "async"], ["style", style],
    ])}>`,
  );
  lines.push("</picture>");
  return lines.join("\n");
}

// The shortcode: re-reads the data file when it changes, so `eleventy --serve` sees each build.
function shortcode(file) {
  let cache = { mtime: -1, data: {} };
  return function (src, mobile, alt, sizes) {
    const mtime = fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
    if (mtime !== cache.mtime) cache = { mtime, data: mtime ? JSON.parse(fs.readFileSync(file, "utf8")) : {} };
    return picture(cache.data, src, mobile, alt, sizes);
  };
}

module.exports = { picture, shortcode };
