import { describe, expect, it } from 'vitest'
import { checkCsv } from './upload'

const blob = (s: string | Uint8Array<ArrayBuffer>) => new Blob([s])

describe('CSV check before upload', () => {
  it.each([
    ['a plain CSV', 'phone,name\n5511999990000,Ana\n', null],
    ['semicolons and Portuguese header', '\uFEFFNome;Telefone;Cidade\nAna;11999990000;Recife', null],
    ['quoted header', '"celular","nome"\n1,2', null],
    ['empty', '', 'empty'],
    ['no phone column', 'name,email\nAna,a@b.c', 'no_phone'],
    ['binary (xlsx is a zip)', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), 'not_csv'],
    ['UTF-16 with BOM is left to the worker', new Uint8Array([0xff, 0xfe, 0x70, 0x00]), null],
  ])('%s', async (_n, content, want) => {
    expect(await checkCsv(blob(content))).toBe(want)
  })

  it('refuses a file over the ticket maximum', async () => {
    expect(await checkCsv(blob('phone\n1\n'), 3)).toBe('too_large')
  })
})
