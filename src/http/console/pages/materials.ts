/**
 * The materials part of the new-case form: per material its form (paper, an electronic scan, an electronic
 * certificate), a file to upload for a scan and a certificate id for a certificate. A scan is uploaded through
 * `POST /v1/files` (the clerk's session and CSRF token) when the form is posted; its sha256 goes into the
 * material and is kept in the form, so a form shown again after a refusal does not ask for the file twice.
 */
import { html } from 'hono/html'
import type { Problem, ResolveAnswer } from '../client.js'
import type { Html } from '../layout.js'
import type { PageContext } from '../session.js'
import { problemTitle } from '../zh.js'

type Material = ResolveAnswer['checklist']['materials'][number]

export interface FileLimits {
  maxBytes: number
  mediaTypes: readonly string[]
}

const materialForms: Record<string, string> = { paper: '纸质', electronic: '电子扫描件', e_certificate: '电子证照' }
const typeNames: Record<string, string> = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'application/ofd': 'OFD',
}
/** What a browser may leave without a type (OFD is not known to most). */
const byExtension: Record<string, string> = {
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  ofd: 'application/ofd',
}

/** A size for people: KB below a megabyte, else MB with one decimal. */
export const megabytes = (n: number) =>
  n < 1024 * 1024 ? `${Math.ceil(n / 1024)} KB` : `${Math.round((n / 1024 / 1024) * 10) / 10} MB`
const typeList = (limits: FileLimits) => limits.mediaTypes.map((t) => typeNames[t] ?? t).join('、')

export function mediaTypeOf(file: File): string {
  if (file.type && file.type !== 'application/octet-stream') return file.type
  return byExtension[file.name.split('.').pop()?.toLowerCase() ?? ''] ?? file.type
}

/** The form's materials fieldset. `messages`: a problem per material code, shown under its file input. */
export function materialsFieldset(
  materials: Material[],
  values: Record<string, string>,
  limits: FileLimits,
  messages: Record<string, string> = {},
): Html {
  const v = (k: string) => values[k] ?? ''
  const accept = [...limits.mediaTypes, ...Object.keys(byExtension).map((e) => `.${e}`)].join(',')
  return html`<fieldset><legend>材料</legend>
  <p class="muted">电子扫描件请上传文件（${typeList(limits)}，每个不超过 ${megabytes(limits.maxBytes)}）；电子证照填写证照标识。</p>
  ${materials.map((m) => {
    const n = `mat.${m.code}`
    const sha = v(`${n}.sha256`)
    const msg = messages[m.code]
    return html`<div class="row material" data-material="${m.code}"><div><label for="m-${m.code}">${m.name}${m.required && !m.nonEssential ? ' *' : ''}</label>
      <select id="m-${m.code}" name="${n}.form">
        ${!m.required || m.nonEssential ? html`<option value="">未提交${m.nonEssential ? '（容缺）' : ''}</option>` : ''}
        ${m.forms.map((f) => html`<option value="${f}"${v(`${n}.form`) === f ? html` selected` : ''}>${materialForms[f] ?? f}</option>`)}
      </select></div>
      ${
        m.forms.includes('electronic')
          ? html`<div><label for="m-${m.code}-file">上传扫描件（选电子扫描件时）</label>
        <input id="m-${m.code}-file" name="${n}.file" type="file" accept="${accept}" data-max-bytes="${limits.maxBytes}" data-types="${limits.mediaTypes.join(',')}" data-form-select="m-${m.code}" aria-describedby="m-${m.code}-file-msg"${msg ? html` aria-invalid="true"` : ''}>
        ${sha ? html`<input type="hidden" name="${n}.sha256" value="${sha}"><input type="hidden" name="${n}.fileName" value="${v(`${n}.fileName`)}">` : ''}
        <div id="m-${m.code}-file-msg" class="field-msg${msg ? ' bad' : sha ? ' good' : ''}" aria-live="polite">${msg ?? (sha ? html`已上传：${v(`${n}.fileName`)}（<span class="mono">${sha.slice(0, 12)}…</span>），不选新文件则沿用` : '')}</div></div>`
          : ''
      }
      ${m.forms.includes('e_certificate') ? html`<div><label for="m-${m.code}-cert">电子证照标识（选电子证照时填写）</label><input id="m-${m.code}-cert" name="${n}.certificateId" type="text" value="${v(`${n}.certificateId`)}" spellcheck="false" class="mono"></div>` : ''}
      </div>`
  })}
</fieldset>`
}

/** Why an upload was refused, for the clerk: too large, a type not accepted, content not of its type. */
function uploadMessage(file: File, mediaType: string, problem: Problem, limits: FileLimits): string {
  switch (problem.status) {
    case 413:
      return `文件过大：${file.name}（${megabytes(file.size)}），每个文件最多 ${megabytes(limits.maxBytes)}`
    case 415:
      return `文件类型不被接受：${file.name}（${mediaType || '未知类型'}），仅接受 ${typeList(limits)}`
    case 422:
      return `文件内容与其类型不符：${file.name}（文件可能已损坏，或扩展名与内容不一致）`
    default:
      return `上传失败：${file.name}（${problemTitle(problem)}）`
  }
}

/**
 * Uploads the scans of the posted form. Returns the form's values with each stored file's `sha256` (and its
 * name), and a message per material whose file was refused or is missing.
 */
export async function uploadMaterials(
  p: PageContext,
  materials: Material[],
  limits: FileLimits,
): Promise<{ values: Record<string, string>; messages: Record<string, string> }> {
  const values = { ...p.form }
  const messages: Record<string, string> = {}
  for (const m of materials) {
    const n = `mat.${m.code}`
    const kind = values[`${n}.form`] ?? ''
    const file = p.files[`${n}.file`]
    if (file && kind !== 'electronic') {
      messages[m.code] = `已选择文件 ${file.name}，但材料形式不是“电子扫描件”：请改选电子扫描件，或不选文件`
      continue
    }
    if (kind !== 'electronic') {
      delete values[`${n}.sha256`]
      continue
    }
    if (!file) {
      if (!/^[0-9a-f]{64}$/.test(values[`${n}.sha256`] ?? '')) messages[m.code] = '选择了电子扫描件：请上传文件'
      continue
    }
    const mediaType = mediaTypeOf(file)
    const stored = await p.api.upload(file, mediaType)
    if (stored.ok) {
      values[`${n}.sha256`] = stored.body.sha256
      values[`${n}.fileName`] = file.name
    } else {
      messages[m.code] = uploadMessage(file, mediaType, stored.problem, limits)
    }
  }
  return { values, messages }
}

/** The problem above the form for the materials' messages. */
export function materialsProblem(materials: Material[], messages: Record<string, string>): Problem | null {
  const errors = materials.filter((m) => messages[m.code]).map((m) => ({ path: m.name, message: messages[m.code]! }))
  return errors.length === 0 ? null : { status: 422, title: '材料文件未能提交，办件未创建', errors }
}

/** The materials of `POST /v1/cases` from the form's values (after the uploads). */
export function materialsBody(materials: Material[], f: Record<string, string>): Record<string, unknown>[] {
  return materials.flatMap((m) => {
    const kind = f[`mat.${m.code}.form`] ?? ''
    if (kind === '') return []
    const cert = (f[`mat.${m.code}.certificateId`] ?? '').trim()
    const sha = f[`mat.${m.code}.sha256`] ?? ''
    return [
      {
        code: m.code,
        name: m.name,
        form: kind,
        ...(kind === 'e_certificate' && cert ? { certificateId: cert } : {}),
        ...(kind === 'electronic' && sha ? { sha256: sha } : {}),
      },
    ]
  })
}
