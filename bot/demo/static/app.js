/* LINE chat simulator (demo mode). Everything goes through the simulator API, which signs LINE webhook
   events and posts them to the bot's real /line/webhook; the bot's replies come back through the fake
   Messaging API and are read here from the timeline. No external scripts, fonts or hosts. */
(function () {
  "use strict";

  const ROOT = document.body.dataset.root || "";
  const API = ROOT + "/simulator/api";
  const AVATAR = ROOT + "/simulator/static/bot-avatar.svg";
  const BOT_NAME = "พม. ช่วยได้";
  const STORE_USERS = "lineSimulator.users";
  const STORE_CURRENT = "lineSimulator.current";
  const LONG_POLL_SECONDS = 10;

  const STICKERS = [
    { packageId: "446", stickerId: "1988", face: "🥰" },
    { packageId: "446", stickerId: "1989", face: "😄" },
    { packageId: "11537", stickerId: "52002734", face: "🙏" },
    { packageId: "11537", stickerId: "52002739", face: "😢" },
    { packageId: "11538", stickerId: "51626494", face: "👍" },
    { packageId: "789", stickerId: "10855", face: "🐥" },
  ];
  const SAMPLE_LOCATION = {
    type: "location",
    title: "กระทรวงการพัฒนาสังคมและความมั่นคงของมนุษย์",
    address: "1034 ถนนกรุงเกษม แขวงคลองมหานาค เขตป้อมปราบศัตรูพ่าย กรุงเทพมหานคร 10100",
    latitude: 13.7546,
    longitude: 100.5138,
  };

  const $ = (id) => document.getElementById(id);
  const els = {
    chat: $("chat"), empty: $("empty-note"), typing: $("typing"), quick: $("quick-replies"),
    panel: $("panel"), stickerPanel: $("sticker-panel"), locationPanel: $("location-panel"),
    input: $("input"), send: $("send"), composer: $("composer"), userButton: $("user-button"),
    userName: $("user-name"), userInitial: $("user-initial"), dialog: $("user-dialog"),
    userForm: $("user-form"), userInput: $("user-name-input"), savedUsers: $("saved-users"),
    currentUserId: $("current-user-id"), userCancel: $("user-cancel"), imageInput: $("image-input"),
    toast: $("toast"), toolSticker: $("tool-sticker"), toolImage: $("tool-image"),
    toolLocation: $("tool-location"), picker: $("picker-dialog"), pickerForm: $("picker-form"),
    pickerInput: $("picker-input"), pickerTitle: $("picker-title"), pickerCancel: $("picker-cancel"),
  };

  const state = {
    user: null, // {name, userId}
    lastSeq: 0,
    generation: 0,
    controller: null,
    lastDay: "",
    lastSide: "",
    lastEntry: null,
    quotes: new Map(), // quoteToken -> short text of the quoted message
    typingTimer: 0,
    stick: true, // keep the view at the newest message until the person scrolls up
    sendChain: Promise.resolve(),
    pickerAction: null,
  };

  // ---------------------------------------------------------------- helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function toast(message, ms) {
    els.toast.textContent = message;
    els.toast.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { els.toast.hidden = true; }, ms || 3500);
  }

  function safeUrl(value, forImage) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, window.location.href);
      const ok = forImage ? ["http:", "https:", "data:", "blob:"] : ["http:", "https:", "tel:", "mailto:"];
      return ok.includes(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function safeColor(value) {
    return typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value) ? value : null;
  }

  function timeText(ms) {
    return new Date(ms).toLocaleTimeString("th-TH", { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function dayText(ms) {
    const date = new Date(ms);
    const today = new Date();
    if (date.toDateString() === today.toDateString()) return "วันนี้";
    return date.toLocaleDateString("th-TH", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  }

  function appendLinkified(parent, text) {
    const pattern = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      parent.append(text.slice(last, match.index));
      const link = el("a", "", match[0]);
      link.href = match[0];
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      parent.append(link);
      last = match.index + match[0].length;
    }
    parent.append(text.slice(last));
  }

  function summary(message) {
    if (!message) return "";
    switch (message.type) {
      case "text": return message.text || "";
      case "sticker": return "[สติกเกอร์]";
      case "image": return "[รูปภาพ]";
      case "location": return "[ตำแหน่ง] " + (message.title || "");
      default: return message.altText || "[" + message.type + "]";
    }
  }

  // ---------------------------------------------------------------- storage of user names

  function savedUsers() {
    try {
      const list = JSON.parse(localStorage.getItem(STORE_USERS) || "[]");
      return Array.isArray(list) ? list.filter((u) => u && typeof u.name === "string") : [];
    } catch (e) {
      return [];
    }
  }

  function saveUser(user) {
    const list = savedUsers().filter((u) => u.name !== user.name);
    list.unshift(user);
    localStorage.setItem(STORE_USERS, JSON.stringify(list.slice(0, 12)));
    localStorage.setItem(STORE_CURRENT, user.name);
  }

  function forgetUser(name) {
    localStorage.setItem(STORE_USERS, JSON.stringify(savedUsers().filter((u) => u.name !== name)));
  }

  // ---------------------------------------------------------------- API

  async function api(path, options) {
    const response = await fetch(API + path, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) throw new Error(data.message || "HTTP " + response.status);
    if (typeof data.webhookStatus === "number" && data.webhookStatus >= 300) {
      toast("webhook ตอบกลับสถานะ " + data.webhookStatus + " (บอทไม่รับข้อความ)");
    }
    return data;
  }

  function postJson(path, body) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  function enqueue(task) {
    // Sends go one after another so the bot receives them in the order the person sent them.
    state.sendChain = state.sendChain.then(task).catch((err) => toast("ส่งไม่สำเร็จ: " + err.message));
    return state.sendChain;
  }

  function sendPayload(extra) {
    if (!state.user) { openUserDialog(); return Promise.resolve(); }
    const body = Object.assign({ userId: state.user.userId, displayName: state.user.name }, extra);
    return enqueue(() => postJson("/send", body));
  }

  const sendText = (text) => sendPayload({ message: { type: "text", text } });
  const sendSticker = (s) => sendPayload({ message: { type: "sticker", packageId: s.packageId, stickerId: s.stickerId } });
  const sendLocation = (loc) => sendPayload({ message: Object.assign({ type: "location" }, loc) });
  const sendPostback = (data, displayText, params) => sendPayload({
    postback: Object.assign({ data: data || "" }, displayText ? { displayText } : {}, params ? { params } : {}),
  });

  function sendImage(file) {
    if (!state.user || !file) return;
    if (!/^image\/(jpeg|png|gif|webp)$/.test(file.type)) { toast("รองรับเฉพาะไฟล์ JPEG, PNG, GIF หรือ WebP"); return; }
    const query = "?userId=" + encodeURIComponent(state.user.userId) + "&displayName=" + encodeURIComponent(state.user.name);
    enqueue(async () => {
      const bytes = await file.arrayBuffer(); // read in the browser, sent as raw bytes
      return api("/image" + query, { method: "POST", headers: { "Content-Type": file.type }, body: bytes });
    });
  }

  function sendCurrentLocation() {
    if (!navigator.geolocation) { toast("เบราว์เซอร์นี้ไม่รองรับตำแหน่ง จึงส่งตำแหน่งตัวอย่างแทน"); sendLocation(SAMPLE_LOCATION); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => sendLocation({
        title: "ตำแหน่งปัจจุบัน",
        latitude: Number(pos.coords.latitude.toFixed(6)),
        longitude: Number(pos.coords.longitude.toFixed(6)),
      }),
      () => { toast("ใช้ตำแหน่งของเครื่องไม่ได้ จึงส่งตำแหน่งตัวอย่างแทน"); sendLocation(SAMPLE_LOCATION); },
      { timeout: 8000, maximumAge: 60000 },
    );
  }

  // ---------------------------------------------------------------- actions (quick replies, buttons)

  function runAction(action) {
    if (!action || typeof action !== "object") return;
    switch (action.type) {
      case "message":
        if (action.text) sendText(action.text);
        break;
      case "postback":
        sendPostback(action.data, action.displayText || action.text);
        break;
      case "uri": {
        const uri = (action.altUri && action.altUri.desktop) || action.uri;
        const href = safeUrl(uri, false);
        if (!href) { toast("ลิงก์นี้เปิดได้เฉพาะในแอป LINE: " + (uri || "")); break; }
        if (/^(tel|mailto):/.test(href)) window.location.href = href;
        else window.open(href, "_blank", "noopener");
        break;
      }
      case "location":
        sendLocation(SAMPLE_LOCATION);
        break;
      case "camera":
      case "cameraRoll":
        els.imageInput.click();
        break;
      case "datetimepicker":
        openPicker(action);
        break;
      case "clipboard":
        if (navigator.clipboard) navigator.clipboard.writeText(action.clipboardText || "").then(() => toast("คัดลอกแล้ว"));
        else toast("คัดลอกไม่ได้ในเบราว์เซอร์นี้");
        break;
      case "richmenuswitch":
        sendPostback(action.data, null, { newRichMenuAliasId: action.richMenuAliasId, status: "SUCCESS" });
        break;
      default:
        toast("โปรแกรมจำลองยังไม่รองรับปุ่มชนิด " + action.type);
    }
    hideQuickReplies();
  }

  function clickable(node, action) {
    if (!action) return node;
    node.classList.add("clickable");
    node.addEventListener("click", (event) => { event.stopPropagation(); runAction(action); });
    if (node.tagName !== "BUTTON") {
      node.tabIndex = 0;
      node.setAttribute("role", "button");
      node.addEventListener("keydown", (event) => { if (event.key === "Enter") runAction(action); });
    }
    return node;
  }

  function openPicker(action) {
    const kinds = { date: ["date", "เลือกวันที่"], time: ["time", "เลือกเวลา"], datetime: ["datetime-local", "เลือกวันและเวลา"] };
    const kind = kinds[action.mode] || kinds.datetime;
    els.pickerInput.type = kind[0];
    els.pickerTitle.textContent = action.label || kind[1];
    els.pickerInput.value = action.initial || "";
    els.pickerInput.min = action.min || "";
    els.pickerInput.max = action.max || "";
    state.pickerAction = action;
    els.picker.showModal();
  }

  function submitPicker(event) {
    event.preventDefault();
    const action = state.pickerAction;
    els.picker.close();
    if (!action || !els.pickerInput.value) return;
    const mode = action.mode in { date: 1, time: 1, datetime: 1 } ? action.mode : "datetime";
    sendPostback(action.data, null, { [mode]: els.pickerInput.value });
  }

  // ---------------------------------------------------------------- message rendering

  function renderText(message, parent) {
    const bubble = el("div", "bubble text");
    const quoted = message.quoteToken && state.quotes.get(message.quoteToken);
    if (quoted) bubble.append(el("div", "quote", quoted));
    let text = String(message.text || "");
    if (message.type === "textV2" && message.substitution) {
      text = text.replace(/\{([A-Za-z0-9_]+)\}/g, (all, key) => {
        const sub = message.substitution[key];
        if (!sub) return all;
        return sub.type === "mention" ? "@" + (sub.mentionee && sub.mentionee.type === "all" ? "ทุกคน" : "ผู้ใช้") : "😀";
      });
    }
    appendLinkified(bubble, text);
    parent.append(bubble);
    return "text";
  }

  function renderSticker(message, parent) {
    const known = STICKERS.find((s) => s.packageId === String(message.packageId) && s.stickerId === String(message.stickerId));
    const box = el("div", "sticker");
    box.title = "สติกเกอร์ " + message.packageId + "/" + message.stickerId;
    box.append(el("span", "face", known ? known.face : "🧸"), el("span", "caption", "สติกเกอร์ " + message.packageId + "/" + message.stickerId));
    parent.append(box);
    return "bare";
  }

  function renderImage(message, parent, entry) {
    const line = message.contentProvider && message.contentProvider.type === "line";
    const src = line ? API + "/content/" + encodeURIComponent(entry.id) : safeUrl(message.previewImageUrl || message.originalContentUrl, true);
    const full = line ? src : safeUrl(message.originalContentUrl, true) || src;
    if (!src) return renderUnknown(message, parent);
    const img = el("img", "photo");
    img.src = src;
    img.alt = "รูปภาพ";
    img.loading = "lazy";
    img.addEventListener("click", () => window.open(full, "_blank", "noopener"));
    img.addEventListener("load", keepAtBottomIfNear);
    parent.append(img);
    return "bare";
  }

  function renderMedia(message, parent) {
    const bubble = el("div", "bubble");
    const src = safeUrl(message.originalContentUrl, true);
    if (message.type === "audio" && src) {
      const audio = el("audio");
      audio.controls = true;
      audio.src = src;
      bubble.append(audio);
    } else {
      bubble.append(el("div", "", "🎬 วิดีโอ"));
      if (src) {
        const link = el("a", "", "เปิดวิดีโอ");
        link.href = src;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        bubble.append(link);
      }
    }
    parent.append(bubble);
    return "media";
  }

  function renderLocation(message, parent) {
    const bubble = el("div", "bubble location-card");
    const info = el("div");
    info.append(el("div", "title", message.title || "ตำแหน่ง"));
    if (message.address) info.append(el("div", "address", message.address));
    const coords = el("a", "coords", Number(message.latitude).toFixed(5) + ", " + Number(message.longitude).toFixed(5));
    coords.href = "geo:" + message.latitude + "," + message.longitude;
    info.append(coords);
    bubble.append(el("span", "pin", "📍"), info);
    parent.append(bubble);
    return "location";
  }

  function actionButtons(actions, className) {
    const row = el("div", "actions " + (className || ""));
    for (const action of actions || []) {
      if (!action) continue;
      row.append(clickable(el("button", "", action.label || action.text || action.type), action));
    }
    return row;
  }

  function templateColumn(column, withActions) {
    const card = el("div", "template-card");
    const thumb = safeUrl(column.thumbnailImageUrl || column.imageUrl, true);
    if (thumb) {
      const img = el("img", "thumb");
      img.src = thumb;
      img.alt = "";
      card.append(img);
    }
    const body = el("div", "body");
    if (column.title) body.append(el("div", "title", column.title));
    if (column.text) body.append(el("div", "text", column.text));
    if (column.title || column.text) card.append(body);
    if (withActions) card.append(actionButtons(column.actions || (column.action ? [column.action] : [])));
    if (column.defaultAction) clickable(card, column.defaultAction);
    return card;
  }

  function renderTemplate(message, parent) {
    const t = message.template || {};
    if (t.type === "confirm") {
      const card = el("div", "template-card");
      const body = el("div", "body");
      body.append(el("div", "text", t.text || ""));
      card.append(body, actionButtons(t.actions, "confirm"));
      parent.append(card);
    } else if (t.type === "carousel" || t.type === "image_carousel") {
      const strip = el("div", "carousel");
      for (const column of t.columns || []) strip.append(templateColumn(column, true));
      parent.append(strip);
    } else {
      parent.append(templateColumn(t, true));
    }
    return "wide";
  }

  function renderUnknown(message, parent) {
    const bubble = el("div", "bubble unknown");
    bubble.append(el("div", "", message.altText || "[ข้อความชนิด " + message.type + "]"));
    const details = el("details");
    details.append(el("summary", "", "ดู JSON"), el("pre", "", JSON.stringify(message, null, 2)));
    bubble.append(details);
    parent.append(bubble);
    return "unknown";
  }

  function renderImagemap(message, parent) {
    const bubble = el("div", "bubble");
    bubble.append(el("div", "", "🖼️ " + (message.altText || "อิมเมจแมป")));
    for (const action of message.actions || []) {
      const label = action.label || action.text || action.linkUri || action.type;
      const mapped = action.type === "uri" ? { type: "uri", uri: action.linkUri } : action;
      bubble.append(clickable(el("button", "fx-button link", label), mapped));
    }
    parent.append(bubble);
    return "media";
  }

  // ---------------------------------------------------------------- flex messages

  const SPACING = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  const TEXT_SIZE = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
  const IMAGE_SIZE = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 220 };
  const RADIUS = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  const ALIGN = { start: "flex-start", end: "flex-end", center: "center" };

  function length(value, table) {
    if (typeof value !== "string") return null;
    if (table && value in table) return table[value] + "px";
    return /^\d+(\.\d+)?(px|%)$/.test(value) ? value : null;
  }

  function applyBoxStyle(node, c) {
    const s = node.style;
    const set = (prop, value) => { if (value !== null && value !== undefined) s[prop] = value; };
    set("padding", length(c.paddingAll, SPACING));
    set("paddingTop", length(c.paddingTop, SPACING));
    set("paddingBottom", length(c.paddingBottom, SPACING));
    set("paddingLeft", length(c.paddingStart, SPACING));
    set("paddingRight", length(c.paddingEnd, SPACING));
    set("backgroundColor", safeColor(c.backgroundColor));
    set("borderColor", safeColor(c.borderColor));
    set("borderRadius", length(c.cornerRadius, RADIUS));
    set("width", length(c.width));
    set("maxWidth", length(c.maxWidth));
    set("height", length(c.height));
    set("maxHeight", length(c.maxHeight));
    set("justifyContent", { "flex-start": "flex-start", "flex-end": "flex-end", center: "center", "space-between": "space-between", "space-around": "space-around", "space-evenly": "space-evenly" }[c.justifyContent]);
    set("alignItems", ALIGN[c.alignItems] || { "flex-start": "flex-start", "flex-end": "flex-end", center: "center" }[c.alignItems]);
    const border = { none: "0", light: "0.5px", normal: "1px", medium: "2px", semi_bold: "3px", "semi-bold": "3px", bold: "4px" }[c.borderWidth] || length(c.borderWidth);
    if (border) { s.borderWidth = border; s.borderStyle = "solid"; }
    if (c.background && c.background.type === "linearGradient") {
      const start = safeColor(c.background.startColor);
      const end = safeColor(c.background.endColor);
      const angle = /^-?\d+(\.\d+)?deg$/.test(c.background.angle || "") ? c.background.angle : "0deg";
      if (start && end) s.backgroundImage = "linear-gradient(" + angle + ", " + start + ", " + end + ")";
    }
    if (c.position === "absolute") {
      s.position = "absolute";
      set("top", length(c.offsetTop, SPACING));
      set("bottom", length(c.offsetBottom, SPACING));
      set("left", length(c.offsetStart, SPACING));
      set("right", length(c.offsetEnd, SPACING));
    }
  }

  function applyFlexItem(node, c, parentLayout, first) {
    const horizontal = parentLayout === "horizontal" || parentLayout === "baseline";
    const defaultFlex = horizontal && !["separator", "icon", "filler", "spacer"].includes(c.type) ? 1 : 0;
    const grow = typeof c.flex === "number" ? c.flex : defaultFlex;
    if (c.type !== "filler") node.style.flex = grow > 0 ? grow + " 1 0" : "0 0 auto";
    const margin = length(c.margin, SPACING);
    if (margin && !first) node.style[horizontal ? "marginLeft" : "marginTop"] = margin;
    if (c.gravity && !horizontal) return;
    if (c.gravity) node.style.alignSelf = { top: "flex-start", bottom: "flex-end", center: "center" }[c.gravity] || "";
  }

  function flexBox(c) {
    const layout = ["horizontal", "baseline"].includes(c.layout) ? c.layout : "vertical";
    const box = el("div", "fx-box " + layout);
    applyBoxStyle(box, c);
    const gap = length(c.spacing, SPACING);
    if (gap) box.style.gap = gap;
    (c.contents || []).forEach((child, index) => {
      const node = flexComponent(child, layout);
      if (!node) return;
      applyFlexItem(node, child, layout, index === 0);
      box.append(node);
    });
    return clickable(box, c.action);
  }

  function styleText(node, c) {
    const size = length(c.size, TEXT_SIZE);
    if (size) node.style.fontSize = size;
    if (c.weight === "bold") node.style.fontWeight = "700";
    if (c.style === "italic") node.style.fontStyle = "italic";
    if (c.decoration === "underline" || c.decoration === "line-through") node.style.textDecoration = c.decoration;
    const color = safeColor(c.color);
    if (color) node.style.color = color;
  }

  function flexText(c) {
    const node = el("div", "fx-text");
    styleText(node, c);
    node.style.textAlign = { start: "left", end: "right", center: "center" }[c.align] || "";
    if (c.lineSpacing) node.style.lineHeight = "calc(1.2em + " + (length(c.lineSpacing) || "0px") + ")";
    if (!c.wrap) node.classList.add("nowrap");
    if (c.wrap && c.maxLines > 0) { node.classList.add("clamp"); node.style.webkitLineClamp = String(c.maxLines); }
    if (Array.isArray(c.contents) && c.contents.length) {
      for (const span of c.contents) {
        const part = el("span", "", span.text || "");
        styleText(part, span);
        node.append(part);
      }
    } else {
      appendLinkified(node, String(c.text || ""));
    }
    return clickable(node, c.action);
  }

  function flexButton(c) {
    const style = ["primary", "secondary", "link"].includes(c.style) ? c.style : "link";
    const button = el("button", "fx-button " + style + (c.height === "sm" ? "" : " md"), (c.action && c.action.label) || "ปุ่ม");
    const color = safeColor(c.color);
    if (color) button.style[style === "link" ? "color" : "backgroundColor"] = color;
    button.type = "button";
    return clickable(button, c.action);
  }

  function flexImage(c, hero) {
    const src = safeUrl(c.url, true);
    if (!src) return null;
    const img = el("img", "fx-image");
    img.src = src;
    img.alt = "";
    img.loading = "lazy";
    const size = c.size === "full" || hero && !c.size ? "100%" : length(c.size || "md", IMAGE_SIZE);
    if (size) img.style.width = size;
    const ratio = /^(\d+(\.\d+)?):(\d+(\.\d+)?)$/.exec(c.aspectRatio || "1:1");
    if (ratio) img.style.aspectRatio = ratio[1] + " / " + ratio[3];
    img.style.objectFit = c.aspectMode === "cover" ? "cover" : "contain";
    const bg = safeColor(c.backgroundColor);
    if (bg) img.style.backgroundColor = bg;
    img.style.alignSelf = ALIGN[c.align] || "center";
    img.addEventListener("load", keepAtBottomIfNear);
    return clickable(img, c.action);
  }

  function flexComponent(c, parentLayout, hero) {
    if (!c || typeof c !== "object") return null;
    switch (c.type) {
      case "box": return flexBox(c);
      case "text": return flexText(c);
      case "span": return el("span", "", c.text || "");
      case "button": return flexButton(c);
      case "image": return flexImage(c, hero);
      case "icon": {
        const src = safeUrl(c.url, true);
        if (!src) return null;
        const icon = el("img", "fx-icon");
        icon.src = src;
        icon.alt = "";
        const size = length(c.size, TEXT_SIZE);
        if (size) { icon.style.width = size; icon.style.height = size; }
        return icon;
      }
      case "separator": {
        const line = el("hr", "fx-separator");
        const color = safeColor(c.color);
        if (color) line.style.borderColor = color;
        return line;
      }
      case "filler": return el("div", "fx-filler");
      case "spacer": {
        const gap = el("div");
        gap.style.height = length(c.size || "md", SPACING) || "8px";
        return gap;
      }
      case "video": return c.altContent ? flexComponent(c.altContent, parentLayout, hero) : el("div", "fx-text", "🎬 วิดีโอ");
      default: return el("div", "fx-text", "[" + c.type + "]");
    }
  }

  function flexBubble(bubble) {
    const card = el("div", "fx-bubble " + (bubble.size || "mega"));
    const styles = bubble.styles || {};
    let first = true;
    for (const part of ["header", "hero", "body", "footer"]) {
      const content = bubble[part];
      if (!content) continue;
      const block = el("div", "fx-block " + part);
      const blockStyle = styles[part] || {};
      const bg = safeColor(blockStyle.backgroundColor);
      if (bg) block.style.backgroundColor = bg;
      if (blockStyle.separator && !first) {
        block.classList.add("sep");
        const color = safeColor(blockStyle.separatorColor);
        if (color) block.style.borderTopColor = color;
      }
      const node = flexComponent(content, "vertical", part === "hero");
      if (node) {
        if (content.type === "box") node.style.flex = "1 1 auto";
        block.append(node);
      }
      card.append(block);
      first = false;
    }
    if (bubble.action) clickable(card, bubble.action);
    return card;
  }

  function renderFlex(message, parent) {
    const contents = message.contents || {};
    if (contents.type === "carousel") {
      const strip = el("div", "carousel");
      for (const bubble of contents.contents || []) strip.append(flexBubble(bubble));
      parent.append(strip);
    } else if (contents.type === "bubble") {
      parent.append(flexBubble(contents));
    } else {
      return renderUnknown(message, parent);
    }
    return "wide";
  }

  const RENDERERS = {
    text: renderText, textV2: renderText, sticker: renderSticker, image: renderImage, video: renderMedia,
    audio: renderMedia, location: renderLocation, template: renderTemplate, flex: renderFlex, imagemap: renderImagemap,
  };

  function renderMessage(message, parent, entry) {
    const render = RENDERERS[message && message.type] || renderUnknown;
    try {
      return render(message, parent, entry);
    } catch (err) {
      parent.replaceChildren();
      return renderUnknown(message, parent);
    }
  }

  // ---------------------------------------------------------------- timeline

  function nearBottom() {
    return els.chat.scrollHeight - els.chat.scrollTop - els.chat.clientHeight < 120;
  }

  function scrollToBottom() {
    els.chat.scrollTop = els.chat.scrollHeight;
  }

  function keepAtBottomIfNear() {
    if (state.stick) scrollToBottom();
  }

  function addDateChip(ms) {
    const day = new Date(ms).toDateString();
    if (day === state.lastDay) return;
    state.lastDay = day;
    state.lastSide = "";
    els.chat.insertBefore(el("div", "date-chip", dayText(ms)), els.typing);
  }

  function markRead() {
    for (const meta of els.chat.querySelectorAll(".row.user .meta.unread")) {
      meta.classList.remove("unread");
      meta.prepend(el("div", "", "อ่านแล้ว"));
    }
  }

  function addEntry(entry) {
    const message = entry.message || {};
    addDateChip(entry.timestamp);
    if (entry.side === "system") {
      els.chat.insertBefore(el("div", "system-note", message.text || ""), els.typing);
      state.lastSide = "system";
      return;
    }
    const bot = entry.side === "bot";
    const row = el("div", "row " + (bot ? "bot" : "user"));
    if (bot && state.lastSide === "bot") row.classList.add("continued");
    const stack = el("div", "stack");
    if (bot) {
      const avatar = el("img", "avatar");
      avatar.src = AVATAR;
      avatar.alt = "";
      row.append(avatar);
      stack.append(el("div", "sender", BOT_NAME));
    }
    const line = el("div", "line");
    const content = el("div", "content");
    const kind = renderMessage(message, content, entry);
    if (kind === "wide") row.classList.add("wide");
    const meta = el("div", "meta" + (bot ? "" : " unread"));
    meta.append(el("div", "", timeText(entry.timestamp)));
    line.append(content, meta);
    stack.append(line);
    row.append(stack);
    els.chat.insertBefore(row, els.typing);
    if (entry.quoteToken) state.quotes.set(entry.quoteToken, summary(message).slice(0, 80));
    if (bot) markRead();
    state.lastSide = bot ? "bot" : "user";
  }

  function setTyping(typing, untilMs, serverNow) {
    clearTimeout(state.typingTimer);
    els.typing.hidden = !typing;
    if (typing) {
      els.chat.append(els.typing);
      markRead();
      keepAtBottomIfNear();
      const remaining = Math.max(0, (untilMs || 0) - (serverNow || Date.now()));
      state.typingTimer = setTimeout(() => { els.typing.hidden = true; }, remaining);
    }
  }

  function showQuickReplies(entry) {
    const items = entry && entry.side === "bot" && entry.message && entry.message.quickReply && entry.message.quickReply.items;
    els.quick.replaceChildren();
    if (!Array.isArray(items) || !items.length) { els.quick.hidden = true; return; }
    for (const item of items) {
      const action = item && item.action;
      if (!action) continue;
      const chip = el("button", "chip");
      chip.type = "button";
      const icon = safeUrl(item.imageUrl, true);
      if (icon) {
        const img = el("img");
        img.src = icon;
        img.alt = "";
        chip.append(img);
      }
      const fallback = { location: "📍 ส่งตำแหน่ง", camera: "📷 กล้อง", cameraRoll: "🖼️ รูปภาพ" }[action.type];
      chip.append(document.createTextNode(action.label || fallback || action.text || "ตัวเลือก"));
      els.quick.append(clickable(chip, action));
    }
    els.quick.hidden = false;
  }

  function hideQuickReplies() {
    els.quick.hidden = true;
  }

  function resetChat() {
    for (const node of Array.from(els.chat.children)) {
      if (node !== els.typing && node !== els.empty) node.remove();
    }
    state.lastSeq = 0;
    state.lastDay = "";
    state.lastSide = "";
    state.lastEntry = null;
    state.stick = true;
    state.quotes.clear();
    els.typing.hidden = true;
    hideQuickReplies();
  }

  function applyTimeline(data) {
    if (data.lastSeq < state.lastSeq) { resetChat(); return; } // the server restarted: reload from scratch
    let mine = false;
    for (const entry of data.entries || []) {
      if (entry.seq <= state.lastSeq) continue;
      addEntry(entry);
      state.lastSeq = entry.seq;
      if (entry.side !== "system") state.lastEntry = entry;
      mine = mine || entry.side === "user";
    }
    if ((data.entries || []).length) showQuickReplies(state.lastEntry);
    setTyping(Boolean(data.typing), data.typingUntil, data.serverTime);
    els.empty.hidden = Boolean(state.lastSeq);
    if (state.stick || mine) { state.stick = true; scrollToBottom(); }
  }

  async function pollLoop(generation) {
    let failures = 0;
    while (generation === state.generation && state.user) {
      const controller = new AbortController();
      state.controller = controller;
      const url = API + "/timeline?userId=" + encodeURIComponent(state.user.userId) + "&after=" + state.lastSeq + "&wait=" + LONG_POLL_SECONDS;
      try {
        const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
        if (!response.ok) throw new Error("HTTP " + response.status);
        const data = await response.json();
        if (generation !== state.generation) return;
        applyTimeline(data);
        failures = 0;
      } catch (err) {
        if (generation !== state.generation) return;
        failures += 1;
        if (failures === 3) toast("เชื่อมต่อเซิร์ฟเวอร์ไม่ได้ กำลังลองใหม่…");
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 700 * failures)));
      }
    }
  }

  // ---------------------------------------------------------------- users

  function setComposerEnabled(enabled) {
    for (const node of [els.input, els.send, els.toolSticker, els.toolImage, els.toolLocation]) node.disabled = !enabled;
    if (enabled) updateSendButton();
  }

  async function startUser(name) {
    const data = await postJson("/users", { displayName: name });
    const user = { name: data.displayName, userId: data.userId };
    saveUser(user);
    state.generation += 1;
    if (state.controller) state.controller.abort();
    state.user = user;
    resetChat();
    els.userName.textContent = user.name;
    els.userInitial.textContent = Array.from(user.name)[0] || "?";
    els.empty.textContent = "กำลังโหลดแชต…";
    setComposerEnabled(true);
    pollLoop(state.generation);
  }

  function renderSavedUsers() {
    els.savedUsers.replaceChildren();
    for (const user of savedUsers()) {
      const item = el("span", "saved-user" + (state.user && state.user.name === user.name ? " current" : ""));
      const pick = el("button", "", user.name);
      pick.type = "button";
      pick.addEventListener("click", () => { els.userInput.value = user.name; els.userForm.requestSubmit(); });
      const remove = el("button", "remove", "×");
      remove.type = "button";
      remove.title = "ลบชื่อนี้ออกจากรายการ";
      remove.addEventListener("click", () => { forgetUser(user.name); renderSavedUsers(); });
      item.append(pick, remove);
      els.savedUsers.append(item);
    }
  }

  function openUserDialog() {
    renderSavedUsers();
    els.userInput.value = "";
    els.currentUserId.textContent = state.user ? "ผู้ใช้ปัจจุบัน: " + state.user.name + " · userId " + state.user.userId : "";
    els.userCancel.hidden = !state.user;
    if (!els.dialog.open) els.dialog.showModal();
    els.userInput.focus();
  }

  // ---------------------------------------------------------------- composer and panels

  function updateSendButton() {
    els.send.disabled = !state.user || !els.input.value.trim();
    els.input.style.height = "auto";
    els.input.style.height = Math.min(120, els.input.scrollHeight + 2) + "px";
  }

  function submitText(event) {
    event.preventDefault();
    const text = els.input.value;
    if (!text.trim() || !state.user) return;
    els.input.value = "";
    updateSendButton();
    hideQuickReplies();
    closePanel();
    sendText(text);
    els.input.focus();
  }

  function togglePanel(which) {
    const opening = els.panel.hidden || (which === "sticker" ? els.stickerPanel.hidden : els.locationPanel.hidden);
    els.panel.hidden = !opening;
    els.stickerPanel.hidden = !(opening && which === "sticker");
    els.locationPanel.hidden = !(opening && which === "location");
    els.toolSticker.setAttribute("aria-pressed", String(opening && which === "sticker"));
    els.toolLocation.setAttribute("aria-pressed", String(opening && which === "location"));
  }

  function closePanel() {
    els.panel.hidden = true;
    els.toolSticker.setAttribute("aria-pressed", "false");
    els.toolLocation.setAttribute("aria-pressed", "false");
  }

  function buildStickerPicker() {
    for (const sticker of STICKERS) {
      const choice = el("button", "sticker-choice");
      choice.type = "button";
      choice.title = "สติกเกอร์ " + sticker.packageId + "/" + sticker.stickerId;
      choice.append(el("span", "face", sticker.face), el("span", "caption", sticker.packageId + "/" + sticker.stickerId));
      choice.addEventListener("click", () => { closePanel(); hideQuickReplies(); sendSticker(sticker); });
      els.stickerPanel.append(choice);
    }
  }

  function bindEvents() {
    els.composer.addEventListener("submit", submitText);
    els.chat.addEventListener("scroll", () => { state.stick = nearBottom(); }, { passive: true });
    els.input.addEventListener("input", updateSendButton);
    els.input.addEventListener("keydown", (event) => {
      const touch = window.matchMedia("(pointer: coarse)").matches;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !touch) submitText(event);
    });
    els.userButton.addEventListener("click", openUserDialog);
    els.userCancel.addEventListener("click", () => els.dialog.close());
    els.userForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = els.userInput.value.trim();
      if (!name) return;
      els.dialog.close();
      startUser(name).catch((err) => { toast("เริ่มแชตไม่สำเร็จ: " + err.message); openUserDialog(); });
    });
    els.dialog.addEventListener("cancel", (event) => { if (!state.user) event.preventDefault(); });
    els.toolSticker.addEventListener("click", () => togglePanel("sticker"));
    els.toolLocation.addEventListener("click", () => togglePanel("location"));
    els.toolImage.addEventListener("click", () => { closePanel(); els.imageInput.click(); });
    els.imageInput.addEventListener("change", () => {
      const file = els.imageInput.files && els.imageInput.files[0];
      els.imageInput.value = "";
      hideQuickReplies();
      sendImage(file);
    });
    $("send-sample-location").addEventListener("click", () => { closePanel(); hideQuickReplies(); sendLocation(SAMPLE_LOCATION); });
    $("send-current-location").addEventListener("click", () => { closePanel(); hideQuickReplies(); sendCurrentLocation(); });
    els.pickerForm.addEventListener("submit", submitPicker);
    els.pickerCancel.addEventListener("click", () => els.picker.close());
  }

  function boot() {
    buildStickerPicker();
    bindEvents();
    setComposerEnabled(false);
    const current = localStorage.getItem(STORE_CURRENT);
    if (current) {
      startUser(current).catch((err) => { toast("เริ่มแชตไม่สำเร็จ: " + err.message); openUserDialog(); });
    } else {
      openUserDialog();
    }
  }

  boot();
})();
