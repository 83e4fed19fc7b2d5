import type { Client } from 'pg';
import { foldText, indexTokens } from '../src/ocr/textTokens';

/** Words of signs, receipts, menus and screenshots that synthetic OCR lines are made of. */
const POOL = [
  '北京',
  '上海',
  '广州',
  '深圳',
  '西站',
  '南站',
  '出口',
  '入口',
  '发票',
  '金额',
  '验证码',
  '银行',
  '停车场',
  '营业时间',
  '地铁',
  '号线',
  '宫保鸡丁',
  '麻婆豆腐',
  '炸酱面',
  '二等座',
  '票价',
  '请勿',
  '泄露',
  '外卖',
  '快递',
  '取件码',
  '会员',
  '积分',
  '优惠券',
  '满减',
  '收银',
  '小票',
  '合计',
  '找零',
  '微信',
  '支付宝',
  '订单',
  '编号',
  '电话',
  '地址',
];

/** A seeded source of synthetic OCR lines: three to seven pool words, some replaced by numbers. */
export function syntheticOcrLines(seed: number): () => string {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
  return () => Array.from({ length: 3 + rand(5) }, () => (rand(5) === 0 ? String(rand(100000)) : POOL[rand(POOL.length)]!)).join('');
}

/** Stores texts as OCR would (folded content, token vector) for the given image ids, in one statement. */
export async function insertOcrTexts(db: Client, ids: readonly string[], texts: readonly string[]): Promise<void> {
  await db.query(
    `INSERT INTO image_texts (image_id, engine, lines, content, tokens)
     SELECT id, 'bench', '[]'::jsonb, c, array_to_tsvector(t::text[]) FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, c, t)`,
    [
      ids,
      texts.map((t) => foldText(t)),
      texts.map(
        (t) =>
          `{${indexTokens(t)
            .map((x) => `"${x.replace(/["\\]/g, '\\$&')}"`)
            .join(',')}}`,
      ),
    ],
  );
}
