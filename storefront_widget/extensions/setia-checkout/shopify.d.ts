// What Shopify CLI generates (and regenerates) as shopify.d.ts for this extension: the `shopify`
// global typed as the API of the module's target, used by the type check in build-check.mjs.
import '@shopify/ui-extensions';

//@ts-ignore
declare module './src/Checkout.jsx' {
  const shopify: import('@shopify/ui-extensions/purchase.checkout.block.render').Api;
  const globalThis: { shopify: typeof shopify };
}
